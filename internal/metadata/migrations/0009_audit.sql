-- The audit log: who did what, when, from where. One row per pushed,
-- pulled or deleted object, login, denial and change of an account object.
-- Rows are written in batches by the audit package and deleted, oldest
-- first, when they are older than the configured retention. at is Unix
-- nanoseconds; listings run newest first on (at, id), filtered by actor
-- or repository, hence an index for each beside the time. Every index costs
-- each insert (pulls are most rows): a listing by action alone walks the
-- time index.
-- detail is a short JSON object; no column ever holds a secret.
CREATE TABLE audit_log (
    id         {{id}},
    at         BIGINT NOT NULL,
    action     {{key}} NOT NULL,
    actor      {{key}} NOT NULL,
    source     {{key}} NOT NULL,
    addr       {{key}} NOT NULL,
    request_id {{key}} NOT NULL,
    repository {{key}} NOT NULL,
    target     {{text}} NOT NULL,
    outcome    {{key}} NOT NULL,
    detail     {{text}} NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
CREATE INDEX audit_log_repository ON audit_log (repository, at);
