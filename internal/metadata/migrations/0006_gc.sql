-- Garbage collection. A lease lets one collector at a time run against the
-- database, whichever replica or `wharf gc` it is in: the holder renews
-- expires_at (Unix nanoseconds) while it runs, and a crashed holder's lease
-- simply expires.
CREATE TABLE gc_leases (
    name       {{key}} NOT NULL PRIMARY KEY,
    holder     {{key}} NOT NULL,
    expires_at BIGINT NOT NULL
);
