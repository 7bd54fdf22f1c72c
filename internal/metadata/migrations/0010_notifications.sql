-- The durable queue of webhook notifications. notify_events holds one row
-- per event and endpoint, rendered as the endpoint will receive it (body,
-- distribution's event JSON), delivered in id order; attempts and next_at
-- are the head's retry schedule, so that a restart keeps the backoff.
CREATE TABLE notify_events (
    id         {{id}},
    endpoint   {{key}} NOT NULL,
    body       {{blob}} NOT NULL,
    created_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notify_events_endpoint ON notify_events (endpoint, id);
-- notify_endpoints counts each endpoint's backlog (pending) and the events
-- dropped past its bound, and holds the lease that lets one process at a
-- time deliver the endpoint's queue (owner until lease_until), so that
-- replicas on one database deliver every event once and in order.
CREATE TABLE notify_endpoints (
    endpoint    {{key}} NOT NULL PRIMARY KEY,
    pending     BIGINT NOT NULL DEFAULT 0,
    dropped     BIGINT NOT NULL DEFAULT 0,
    owner       {{key}} NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0
);
