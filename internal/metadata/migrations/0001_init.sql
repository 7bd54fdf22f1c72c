-- The registry's metadata: repositories, blob links, manifests, tags and
-- uploads. Column types are {{tokens}} filled in by the dialect (dialect.go).
-- Times are Unix nanoseconds. Statements end with ";" at the end of a line;
-- comment lines start with "--".

-- A repository row exists from its first blob, mount or manifest.
CREATE TABLE repositories (
    id         {{id}},
    name       {{key}} NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT repositories_name_key UNIQUE (name)
);

-- A blob row means the bytes are committed in storage.
CREATE TABLE blobs (
    digest     {{key}} NOT NULL PRIMARY KEY,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A link makes a blob visible in a repository. A blob row cannot be deleted
-- while a repository links it (no ON DELETE on blob_digest).
CREATE TABLE repository_blobs (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    blob_digest   {{key}} NOT NULL REFERENCES blobs (digest),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (repository_id, blob_digest)
);

-- Which repositories link a blob (GC).
CREATE INDEX repository_blobs_blob_digest ON repository_blobs (blob_digest);

CREATE TABLE manifests (
    id            {{id}},
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest        {{key}} NOT NULL,
    media_type    {{text}} NOT NULL,
    artifact_type {{text}} NOT NULL,
    size          BIGINT NOT NULL,
    payload       {{blob}} NOT NULL,
    subject       {{key}},
    annotations   {{text}},
    created_at    BIGINT NOT NULL,
    CONSTRAINT manifests_repository_digest_key UNIQUE (repository_id, digest)
);

-- Referrers: the manifests of one repository with a given subject, already
-- in digest order. The artifact type filter is applied to those few rows.
CREATE INDEX manifests_referrers ON manifests (repository_id, subject, digest);

-- What a manifest refers to (config, layers, index children), for GC.
CREATE TABLE manifest_refs (
    manifest_id BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    kind        {{key}} NOT NULL,
    digest      {{key}} NOT NULL,
    PRIMARY KEY (manifest_id, kind, digest)
);

-- Is a blob or manifest still referenced (GC).
CREATE INDEX manifest_refs_digest ON manifest_refs (digest);

-- Tag listing walks the primary key in byte order from the last tag seen.
CREATE TABLE tags (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name          {{key}} NOT NULL,
    manifest_id   BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (repository_id, name)
);

-- The tags pointing at a manifest (manifest delete).
CREATE INDEX tags_manifest_id ON tags (manifest_id);

-- Uploads name their repository as text: an abandoned upload must not create
-- a repository.
CREATE TABLE uploads (
    id          {{key}} NOT NULL PRIMARY KEY,
    repository  {{key}} NOT NULL,
    algorithm   {{text}} NOT NULL,
    byte_offset BIGINT NOT NULL,
    hash_state  {{blob}},
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Stale upload sweeps.
CREATE INDEX uploads_updated_at ON uploads (updated_at, id);
