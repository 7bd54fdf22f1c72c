package server

import (
	"context"
	"time"
)

// sessionPurgeEvery is how often sessions that can never be used again
// (expired, or revoked) are deleted: a session is stored at every docker
// login, so the table would only grow.
const sessionPurgeEvery = 6 * time.Hour

// purgeSessions deletes, now and then, the sessions that ended more than a
// day ago (the day keeps a just-ended session in the table, for whoever
// looks into it).
func (s *Server) purgeSessions(ctx context.Context) {
	t := time.NewTicker(sessionPurgeEvery)
	defer t.Stop()
	turn := s.turns.Every("purge sessions", sessionPurgeEvery)
	for {
		var (
			n   int64
			err error
		)
		if s.myTurn(ctx, turn, "purging ended sessions") {
			n, err = s.meta.PurgeRefreshTokens(ctx, time.Now().Add(-24*time.Hour))
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Warn("purging ended sessions failed", "err", err)
		case n > 0:
			s.log.Info("purged ended sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
