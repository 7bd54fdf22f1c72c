-- Retention and read-only mode. pulled_at is the last time a manifest (by
-- tag or digest) or a tag was pulled, 0 for never; it is written in
-- batches every few seconds, never once per pull, so it lags by that much.
ALTER TABLE manifests ADD COLUMN pulled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tags ADD COLUMN pulled_at BIGINT NOT NULL DEFAULT 0;

-- One row, id 1: read-only mode set at runtime (wharf's admin API), read
-- by every replica every few seconds. enabled is 0 or 1.
CREATE TABLE read_only (
    id         BIGINT NOT NULL PRIMARY KEY,
    enabled    INTEGER NOT NULL,
    reason     {{text}} NOT NULL,
    updated_at BIGINT NOT NULL
);

INSERT INTO read_only (id, enabled, reason, updated_at) VALUES (1, 0, '', 0);
