package server

import (
	"context"
	"time"

	"wharf/internal/metadata"
)

// usageCheckEvery is how often the server looks whether today's storage per
// namespace is recorded yet. The count itself runs once a day: the web
// interface's growth chart draws one point per recorded day, and a day
// nobody opened the usage page must still have its point.
const usageCheckEvery = time.Hour

// recordUsage records, once per UTC day, the storage used per namespace
// (metadata keeps the first count of a day, so every replica may try; the
// store remembers the day it recorded, so that it counts once a day).
func (s *Server) recordUsage(ctx context.Context) {
	t := time.NewTicker(usageCheckEvery)
	defer t.Stop()
	for {
		if _, err := s.recordUsageOnce(ctx, time.Now()); ctx.Err() != nil {
			return
		} else if err != nil {
			s.log.Warn("recording today's storage per namespace failed; the next check tries again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// recordUsageOnce counts and records now's day unless this process did
// already, and returns the day.
func (s *Server) recordUsageOnce(ctx context.Context, now time.Time) (string, error) {
	today := now.UTC().Format(time.DateOnly)
	n, err := s.meta.RecordUsageToday(ctx, now, func(ctx context.Context) ([]metadata.NamespaceStats, error) {
		return s.meta.NamespaceStats(ctx, "")
	})
	if err != nil {
		return "", err
	}
	if n > 0 {
		s.log.Info("recorded today's storage per namespace", "day", today, "rows", n)
	}
	return today, nil
}
