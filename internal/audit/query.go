package audit

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"wharf/internal/metadata"
)

// Filter is a listing's filters as a user writes them, the same for
// `wharf audit ls` and the admin API.
type Filter struct {
	User, Repo, Action string
	// Since and Until are a duration back from now ("24h", "7d") or a time
	// (RFC 3339, or a date "2026-12-01").
	Since, Until string
	Cursor       string
	Limit        int
}

// MaxLimit is the largest page a listing returns.
const MaxLimit = 1000

// FilterError is a problem with a filter: Field names it ("since",
// "until", "limit"), Message says what is wrong and what is wanted.
type FilterError struct {
	Field, Message string
}

func (e *FilterError) Error() string { return "audit: " + e.Field + ": " + e.Message }

func filterErr(field, format string, args ...any) error {
	return &FilterError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Query turns f into the store's query, at now.
func (f Filter) Query(now time.Time) (metadata.AuditQuery, error) {
	q := metadata.AuditQuery{Actor: f.User, Repository: f.Repo, Action: f.Action, Cursor: f.Cursor, Limit: f.Limit}
	var err error
	if q.Since, err = parseWhen("since", f.Since, now); err != nil {
		return q, err
	}
	if q.Until, err = parseWhen("until", f.Until, now); err != nil {
		return q, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, filterErr("until", "since (%s) is not before until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return q, filterErr("limit", "%d: want 1 to %d", f.Limit, MaxLimit)
	}
	return q, nil
}

// parseWhen reads "24h", "90m", "7d" (back from now) or a time.
func parseWhen(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, filterErr(name, "%q: want a duration back from now (24h, 7d) or a time (2026-12-01, 2026-12-01T15:04:05Z)", v)
}

// View is a record as `wharf audit ls --json` and the admin API show it.
type View struct {
	Time       time.Time       `json:"time"`
	Action     string          `json:"action"`
	Actor      string          `json:"actor,omitempty"`
	Source     string          `json:"source,omitempty"`
	Addr       string          `json:"addr,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	Repository string          `json:"repository,omitempty"`
	Target     string          `json:"target,omitempty"`
	Outcome    string          `json:"outcome"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	// Count is how many events the record stands for: 1, or the pulls
	// folded into it (docs/audit.md); Time is then the first one's and
	// Last the last one's.
	Count int64     `json:"count"`
	Last  time.Time `json:"last,omitzero"`
}

// ViewOf shows r.
func ViewOf(r metadata.AuditRecord) View {
	v := View{Time: r.Time, Action: r.Action, Actor: r.Actor, Source: r.Source, Addr: r.Addr, RequestID: r.RequestID,
		Repository: r.Repository, Target: r.Target, Outcome: r.Outcome, Count: max(r.Count, 1), Last: r.Last}
	if r.Detail != "" && json.Valid([]byte(r.Detail)) {
		v.Detail = json.RawMessage(r.Detail)
	}
	return v
}
