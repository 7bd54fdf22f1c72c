-- Garbage collection. A lease lets one collector at a time run against the
-- database, whichever replica or `wharf gc` it is in: the holder renews
-- expires_at (Unix nanoseconds) while it runs, and a crashed holder's lease
-- simply expires.
CREATE TABLE gc_leases (
    name       {{key}} NOT NULL PRIMARY KEY,
    holder     {{key}} NOT NULL,
    expires_at BIGINT NOT NULL
);

-- When a manifest was last pushed (created_at keeps the first push): an
-- untagged manifest pushed again, say as the child of an index about to be
-- pushed, gets a new grace period before gc --delete-untagged may take it.
ALTER TABLE manifests ADD COLUMN pushed_at BIGINT NOT NULL DEFAULT 0;
UPDATE manifests SET pushed_at = created_at;
