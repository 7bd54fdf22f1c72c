-- tag_version counts the changes to a repository's tags. A listing cached
-- in a wharf process stays valid while the number it was read at is the
-- current one, so every replica sees a change at once.
ALTER TABLE repositories ADD COLUMN tag_version BIGINT NOT NULL DEFAULT 0;
