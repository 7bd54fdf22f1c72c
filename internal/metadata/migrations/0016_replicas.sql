-- What replicas sharing this database must agree on, which used to be files
-- of one data directory.
--
-- Token-signing keys. seq orders the keys: the highest one that has not
-- retired signs, every one that has not retired verifies. A rotation adds
-- seq+1 and gives the others retire_at (Unix nanoseconds; 0 = not
-- retiring): their last tokens have expired by then. seq is the primary
-- key, so two replicas generating the first key, or rotating at once, cannot
-- both win. private_key is PKCS #8 PEM: readable by whoever can read the
-- database, as the password hashes are (docs/security.md).
CREATE TABLE token_keys (
    seq         BIGINT NOT NULL PRIMARY KEY,
    kid         {{key}} NOT NULL,
    private_key {{text}} NOT NULL,
    certificate {{text}} NOT NULL,
    created_at  BIGINT NOT NULL,
    retire_at   BIGINT NOT NULL
);

-- Browser sign-ins: one per provider and account; the SHA-256 of the
-- registry password Wharf generated, the labels and the provider's token as
-- JSON, times in Unix seconds.
CREATE TABLE sign_ins (
    backend       {{key}} NOT NULL,
    account       {{key}} NOT NULL,
    password_hash {{blob}} NOT NULL,
    labels        {{text}} NOT NULL,
    token         {{text}} NOT NULL,
    created_at    BIGINT NOT NULL,
    revalidate_at BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (backend, account)
);

-- Sign-ins in progress: the browser left for the provider from one replica
-- and may come back to another. Keyed by the SHA-256 (hex) of the state;
-- taken (deleted) once by the callback.
CREATE TABLE sign_in_attempts (
    backend    {{key}} NOT NULL,
    state_hash {{key}} NOT NULL,
    attempt    {{text}} NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (backend, state_hash)
);

CREATE INDEX sign_in_attempts_expires ON sign_in_attempts (expires_at);
