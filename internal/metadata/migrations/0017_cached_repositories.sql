-- Repositories the pull-through cache filled from an upstream. A mirror
-- (an upstream without a prefix) serves the names no prefix claims, next to
-- repositories pushed locally: a name listed here is the upstream's (pulls
-- revalidate there, pushes are refused); a repository not listed is local.
-- A row may outlive its repository (the cache's content evicted): the name
-- stays the upstream's. upstream is its host, for messages; times in Unix
-- nanoseconds.
CREATE TABLE cached_repositories (
    name       {{key}} NOT NULL PRIMARY KEY,
    upstream   {{key}} NOT NULL,
    created_at BIGINT NOT NULL
);
