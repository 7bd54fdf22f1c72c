-- Refresh tokens of the token server (offline_token=true, OAuth2
-- refresh_token grant). Only the SHA-256 of a token is stored: the token is
-- 256 random bits, so a plain hash is enough and a database leak reveals
-- nothing usable. Labels are the account's labels at login, as JSON.
CREATE TABLE refresh_tokens (
    token_hash   {{key}} NOT NULL PRIMARY KEY,
    account      {{key}} NOT NULL,
    service      {{text}} NOT NULL,
    client_id    {{text}} NOT NULL,
    labels       {{text}} NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL
);

CREATE INDEX refresh_tokens_account ON refresh_tokens (account);
