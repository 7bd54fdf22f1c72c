package server

import (
	"context"
	"time"
)

// usageCheckEvery is how often the server looks whether today's storage per
// namespace is recorded yet. The count itself runs once a day: the web
// interface's growth chart draws one point per recorded day, and a day
// nobody opened the usage page must still have its point.
const usageCheckEvery = time.Hour

// recordUsage records, once per UTC day, the storage used per namespace
// (metadata keeps the first count of a day, so every replica may try; the
// day this server wrote is remembered so that it counts once a day).
func (s *Server) recordUsage(ctx context.Context) {
	t := time.NewTicker(usageCheckEvery)
	defer t.Stop()
	var done string
	for {
		if day, err := s.recordUsageOnce(ctx, time.Now(), done); ctx.Err() != nil {
			return
		} else if err != nil {
			s.log.Warn("recording today's storage per namespace failed; the next check tries again", "err", err)
		} else {
			done = day
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// recordUsageOnce counts and records now's day unless it is done, the day
// last recorded, and returns the day recorded.
func (s *Server) recordUsageOnce(ctx context.Context, now time.Time, done string) (string, error) {
	today := now.UTC().Format(time.DateOnly)
	if today == done {
		return done, nil
	}
	ns, err := s.meta.NamespaceStats(ctx, "")
	if err != nil {
		return done, err
	}
	n, err := s.meta.RecordUsage(ctx, now, ns)
	if err != nil {
		return done, err
	}
	if n > 0 {
		s.log.Info("recorded today's storage per namespace", "day", today, "rows", n)
	}
	return today, nil
}
