-- A row of notify_events may carry several events of one endpoint, written
-- by one flush: body is their JSON joined by commas, in order, and events
-- says how many (pending and the backlog bound count events, not rows).
-- Every row written before is one event: events 1.
ALTER TABLE notify_events ADD COLUMN events BIGINT NOT NULL DEFAULT 1;
