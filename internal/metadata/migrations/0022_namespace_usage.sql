-- Storage used per namespace, one row per namespace and UTC day, so that
-- the web interface can draw its growth: day is the date (YYYY-MM-DD, which
-- sorts as it reads), bytes and repositories as NamespaceStats counts them
-- that day. The first server to count a day writes its row and the others
-- leave it (insert-ignore), so replicas need no lease; rows older than
-- UsageHistoryDays are pruned when a day is recorded. The key serves both
-- the chart (a range of days) and the pruning (the oldest days).
CREATE TABLE namespace_usage (
    day          {{key}} NOT NULL,
    namespace    {{key}} NOT NULL,
    bytes        BIGINT NOT NULL,
    repositories BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    PRIMARY KEY (day, namespace)
);
