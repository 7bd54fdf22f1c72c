-- A refresh token (a docker login session) remembers which backend admitted
-- its account (source) and a one-way stamp of the credential it logged in
-- with (stamp), so that each refresh asks that backend whether the account
-- is still admitted with that credential. id is a short public name for the
-- session (the first 16 hex digits of token_hash), for listing and revoking.
-- Sessions stored before have neither source nor stamp.
ALTER TABLE refresh_tokens ADD COLUMN id {{key}} NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN source {{key}} NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN stamp {{key}} NOT NULL DEFAULT '';
UPDATE refresh_tokens SET id = substr(token_hash, 1, 16);
CREATE INDEX refresh_tokens_id ON refresh_tokens (id);
