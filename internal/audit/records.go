package audit

import (
	"context"
	"encoding/json"
	"net/netip"
	"strconv"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/edge"
	"wharf/internal/events"
	"wharf/internal/metadata"
)

// Outcomes of a record.
const (
	OK     = "ok"
	Denied = "denied"
	Failed = "failed"
)

// Actions recorded besides the registry's (events.Push, Pull, Mount,
// Delete) and the account service's (accounts.Change.Action).
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login.failed"
	ActionTokenDenied = "token.denied"
	ActionAdminDenied = "admin.denied"
)

// Sources of records that no authentication backend names.
const (
	SourceRegistry = "registry"
	SourceCLI      = "cli"
	SourceAdminAPI = "adminapi"
)

var (
	_ events.Sink                            = (*Log)(nil)
	_ tokenserver.Audit                      = (*Log)(nil)
	_ func(context.Context, accounts.Change) = (*Log)(nil).Changed
)

// Record implements events.Sink: a push, pull, mount or delete. Pulls are
// routine records, kept as Options.Pulls says.
func (l *Log) Record(e *events.Event) {
	if e.Action == events.Pull && (l.opts.Pulls == PullsNone || l.opts.Pulls == PullsManifests && !e.Manifest()) {
		return
	}
	l.add(metadata.AuditRecord{
		Time: e.Time, Action: string(e.Action), Actor: e.Actor, Source: SourceRegistry,
		RequestID: e.RequestID, Repository: e.Repository, Outcome: OK,
	}, eventParts{set: true, digest: string(e.Digest), tag: e.Tag, mediaType: e.MediaType, from: e.From,
		userAgent: e.UserAgent, size: e.Size, addr: e.Addr}, e.Action == events.Pull)
}

// pullAction is events.Pull as a record's action.
const pullAction = string(events.Pull)

// target is a tag@digest, a digest or a tag.
func (p *eventParts) target() string {
	switch {
	case p.tag != "" && p.digest != "":
		return p.tag + "@" + p.digest
	case p.tag != "":
		return p.tag
	}
	return p.digest
}

// detail is the event's media type, mount source, user agent and size as
// JSON, appended by hand: it runs for every pull kept.
func (p *eventParts) detail() string {
	ua := edge.UserAgent(p.userAgent)
	b := make([]byte, 0, 64+len(p.mediaType)+len(p.from)+len(ua))
	b = append(b, '{')
	field := func(k, v string) {
		if v == "" {
			return
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, `"`+k+`":`...), v)
	}
	field("media_type", p.mediaType)
	field("from", p.from)
	field("user_agent", ua)
	if p.size > 0 {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(append(b, `"size":`...), p.size, 10)
	}
	if len(b) == 1 {
		return ""
	}
	return string(append(b, '}'))
}

// appendJSONString appends s as a JSON string: printable ASCII as is (the
// common case), anything else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Login implements tokenserver.Audit. A successful login is routine (one
// per token request, as many as pulls); a failed one is kept.
func (l *Log) Login(ctx context.Context, in tokenserver.Login) {
	r := metadata.AuditRecord{Action: ActionLogin, Actor: in.Account, Source: in.Source,
		RequestID: edge.RequestID(ctx), Outcome: OK}
	if !in.OK {
		r.Action, r.Outcome = ActionLoginFailed, Failed
		r.Detail = jsonDetail(map[string]any{"reason": in.Reason})
	}
	l.add(r, eventParts{addr: in.IP}, in.OK)
}

// Denied implements tokenserver.Audit: the scopes asked and granted.
func (l *Log) Denied(ctx context.Context, d tokenserver.Denial) {
	repo := ""
	if len(d.Asked) > 0 && d.Asked[0].Type == "repository" {
		repo = d.Asked[0].Name
	}
	l.add(metadata.AuditRecord{Action: ActionTokenDenied, Actor: d.Account, Source: d.Source,
		RequestID: edge.RequestID(ctx), Repository: repo, Outcome: Denied,
		Detail: jsonDetail(map[string]any{"service": d.Service, "asked": scopes(d.Asked), "granted": scopes(d.Granted)}),
	}, eventParts{addr: d.IP}, false)
}

// AdminRefused records a caller the admin API refused: a failed login
// (failed), or an account without the admin scope (admin.denied).
func (l *Log) AdminRefused(ctx context.Context, account string, ip netip.Addr, failed bool, reason string) {
	r := metadata.AuditRecord{Action: ActionAdminDenied, Actor: account, Source: SourceAdminAPI,
		RequestID: edge.RequestID(ctx), Outcome: Denied, Detail: jsonDetail(map[string]any{"reason": reason})}
	if failed {
		r.Action, r.Outcome = ActionLoginFailed, Failed
	}
	l.add(r, eventParts{addr: ip}, false)
}

// Changed is the account service's hook (accounts.Options.Changed): the
// actor comes from ctx (accounts.WithActor), else it is unknown.
func (l *Log) Changed(ctx context.Context, c accounts.Change) {
	a, _ := accounts.ActorFrom(ctx)
	r := metadata.AuditRecord{Action: c.Action, Actor: a.Name, Source: a.Source, Addr: a.Addr,
		RequestID: edge.RequestID(ctx), Target: c.Target, Outcome: OK}
	if c.Err != nil {
		r.Outcome = Failed
		r.Detail = jsonDetail(map[string]any{"error": c.Err.Error()})
	}
	l.add(r, eventParts{}, false)
}

func scopes(as []auth.Access) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func jsonDetail(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
