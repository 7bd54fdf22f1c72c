package metadata

import (
	"container/list"
	"slices"
	"sort"
	"sync"
)

// Bounds of the tag cache: repositories with more tags are listed from the
// database page by page; the cache as a whole holds at most maxCachedTags
// names (a few megabytes), dropping the least recently listed repository.
const (
	maxCachedTagsPerRepo = 50_000
	maxCachedTags        = 200_000
)

// tagCache keeps the complete, sorted tag lists of recently listed
// repositories. An entry is valid for one repository row and tag_version:
// ListTags reads both from the database on every call (one indexed row),
// so a change by this or any other process is seen at once, and a
// repository deleted and created again never finds its old list. The row
// is its id and its creation time: SQLite gives a new row the id of the
// deleted one when that was the highest, and a new row's tag_version
// starts over, so the id and version alone would match the old list.
type tagCache struct {
	mu    sync.Mutex
	total int
	lru   *list.List // of *tagEntry, most recently used first
	byKey map[string]*list.Element
}

type tagEntry struct {
	repo    string
	row     repoRow
	version int64
	tags    []string
}

// repoRow names one repository row: its id and its creation time.
type repoRow struct{ id, created int64 }

func newTagCache() *tagCache {
	return &tagCache{lru: list.New(), byKey: make(map[string]*list.Element)}
}

// get returns the cached tags of repo at (row, version), or nil.
func (c *tagCache) get(repo string, row repoRow, version int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[repo]
	if !ok {
		return nil
	}
	e := el.Value.(*tagEntry)
	if e.row != row || e.version != version {
		return nil
	}
	c.lru.MoveToFront(el)
	return e.tags
}

// put stores the complete sorted tag list of repo at (row, version),
// replacing an older one. A list read at an older version than the one
// stored is ignored.
func (c *tagCache) put(repo string, row repoRow, version int64, tags []string) {
	if len(tags) > maxCachedTagsPerRepo {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[repo]; ok {
		e := el.Value.(*tagEntry)
		if e.row == row && e.version > version {
			return
		}
		c.remove(el)
	}
	c.byKey[repo] = c.lru.PushFront(&tagEntry{repo: repo, row: row, version: version, tags: tags})
	c.total += len(tags)
	for c.total > maxCachedTags && c.lru.Len() > 1 {
		c.remove(c.lru.Back())
	}
}

func (c *tagCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*tagEntry)
	delete(c.byKey, e.repo)
	c.total -= len(e.tags)
}

// pageAfter returns up to n of the sorted tags that sort after last (all of
// them when n <= 0), as a slice of the caller's own.
func pageAfter(sorted []string, last string, n int) []string {
	i := sort.Search(len(sorted), func(k int) bool { return sorted[k] > last })
	end := len(sorted)
	if n > 0 && i+n < end {
		end = i + n
	}
	return slices.Clone(sorted[i:end:end])
}
