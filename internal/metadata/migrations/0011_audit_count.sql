-- A row of the audit log may stand for several identical pulls (same
-- actor, backend, address, repository and target) folded together by the
-- writer: count says how many, at is the first one's time and last_at the
-- last one's. Every other row, and every row written before, is one event:
-- count 1, last_at 0 (read as at). Neither column is indexed: they are
-- read with the row, never searched.
ALTER TABLE audit_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
