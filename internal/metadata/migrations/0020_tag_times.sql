-- A repository's tags by update time, a page at a time (the web interface
-- sorts them newest first): without it each page sorts every tag.
CREATE INDEX tags_updated ON tags (repository_id, updated_at);
