-- Identity: users (people and robot accounts), teams, ACL rules and access
-- tokens, managed with `wharf user|team|acl|token` while the server runs.
-- Booleans are 0/1 integers; label and action lists are JSON text.

-- One row, id 1. Every change to the tables below adds one to generation
-- in the same transaction, so a running server notices changes with one
-- cheap read and reloads only then.
CREATE TABLE identity_generation (
    id         BIGINT NOT NULL PRIMARY KEY,
    generation BIGINT NOT NULL
);

INSERT INTO identity_generation (id, generation) VALUES (1, 0);

-- password_hash is bcrypt, or '' for a robot account, which logs in with
-- its access tokens only.
CREATE TABLE users (
    id            {{id}},
    name          {{key}} NOT NULL,
    password_hash {{text}} NOT NULL,
    robot         INTEGER NOT NULL,
    disabled      INTEGER NOT NULL,
    labels        {{text}} NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT users_name_key UNIQUE (name)
);

CREATE TABLE teams (
    id         {{id}},
    name       {{key}} NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT teams_name_key UNIQUE (name)
);

CREATE TABLE team_members (
    team_id    BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

-- The teams of a user.
CREATE INDEX team_members_user_id ON team_members (user_id);

-- ACL rules in docker_auth's shape, asked in position order (1, 2, …).
-- A NULL match column matches anything; '' is a value (the anonymous
-- account for match_account). match_labels is a JSON object or NULL.
CREATE TABLE acl_rules (
    id            {{id}},
    position      BIGINT NOT NULL,
    match_account {{text}},
    match_type    {{text}},
    match_name    {{text}},
    match_service {{text}},
    match_ip      {{text}},
    match_labels  {{text}},
    actions       {{text}} NOT NULL,
    comment       {{text}} NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE INDEX acl_rules_position ON acl_rules (position);

-- Personal access tokens and robot tokens. Only the SHA-256 of a token is
-- stored (it holds 256 random bits, so a plain hash is enough). scopes is
-- a JSON list of scope patterns; expires_at, last_used_at and revoked_at
-- are 0 for never.
CREATE TABLE access_tokens (
    id           {{key}} NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   {{key}} NOT NULL,
    description  {{text}} NOT NULL,
    scopes       {{text}} NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL
);

CREATE INDEX access_tokens_user_id ON access_tokens (user_id);
