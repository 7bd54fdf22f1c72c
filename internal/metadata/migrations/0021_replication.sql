-- The outcome of each replication rule, for wharf replication status and
-- the admin API: counts since the rule was first run, the last run's times
-- and its last error (empty after a success). The rule's queue of pushes
-- to copy is the notification queue's, under the endpoint
-- "replication/RULE", whose lease makes one replica run it.
CREATE TABLE replication_rules (
    rule        {{key}} NOT NULL PRIMARY KEY,
    copied      BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    last_start  BIGINT NOT NULL DEFAULT 0,
    last_end    BIGINT NOT NULL DEFAULT 0,
    last_error  {{text}} NOT NULL DEFAULT ''
);
