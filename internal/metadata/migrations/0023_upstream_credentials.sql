-- The pull-through cache's credentials for its upstreams, set with wharf
-- mirror credentials or the admin API, by upstream name. The password is
-- sealed (AES-256-GCM) with a key kept outside the database; key_id names
-- that key (a fingerprint, not the key), so that a server with another key
-- says so instead of failing to authenticate upstream.
CREATE TABLE upstream_credentials (
    upstream    {{key}} NOT NULL PRIMARY KEY,
    username    {{text}} NOT NULL,
    sealed      {{blob}} NOT NULL,
    key_id      {{text}} NOT NULL,
    updated_at  BIGINT NOT NULL
);
