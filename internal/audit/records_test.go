package audit

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/accounts"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/edge"
	"wharf/internal/events"
	"wharf/internal/metadata"
)

// openLog returns a Log over a fresh SQLite database, and the database.
func openLog(t *testing.T, pulls Pulls) (*Log, *metadata.Store) {
	t.Helper()
	st, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "m.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	l, err := New(Options{Store: st, Log: slog.New(slog.DiscardHandler), Every: time.Hour, Pulls: pulls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(t.Context()) })
	return l, st
}

// list closes l (writing everything) and returns the records, oldest
// first.
func list(t *testing.T, l *Log, st *metadata.Store) []metadata.AuditRecord {
	t.Helper()
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, _, err := st.ListAudit(t.Context(), metadata.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	return recs
}

func TestRecordEvents(t *testing.T) {
	t.Parallel()
	d, blob := digest.FromString("manifest"), digest.FromString("layer")
	ev := func(a events.Action, tag string) *events.Event {
		return &events.Event{Time: time.Now(), Action: a, Repository: "team/app", Digest: d, Tag: tag,
			MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 123, Actor: "alice",
			Addr: netip.MustParseAddr("127.0.0.1"), RequestID: "r-" + string(a), UserAgent: "docker/27.0\x00evil"}
	}
	for _, tc := range []struct {
		name  string
		pulls Pulls
		want  []string
	}{
		{"all pulls", PullsAll, []string{"push alice team/app v1@" + string(d), "pull alice team/app " + string(d), "pull alice team/app " + string(blob), "delete alice team/app v1"}},
		{"manifest pulls", PullsManifests, []string{"push alice team/app v1@" + string(d), "pull alice team/app " + string(d), "delete alice team/app v1"}},
		{"no pulls", PullsNone, []string{"push alice team/app v1@" + string(d), "delete alice team/app v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, st := openLog(t, tc.pulls)
			l.Record(ev(events.Push, "v1"))
			l.Record(ev(events.Pull, ""))
			blobPull := ev(events.Pull, "")
			blobPull.Digest, blobPull.MediaType = blob, ""
			l.Record(blobPull)
			del := ev(events.Delete, "v1")
			del.Digest, del.MediaType, del.Size = "", "", 0
			l.Record(del)
			recs := list(t, l, st)
			var got []string
			for _, r := range recs {
				got = append(got, fmt.Sprintf("%s %s %s %s", r.Action, r.Actor, r.Repository, r.Target))
				if r.Addr != "127.0.0.1" || r.Source != SourceRegistry || r.RequestID != "r-"+r.Action || r.Outcome != OK {
					t.Errorf("record %+v: want address, source registry, request id and outcome ok", r)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("records differ (-want +got):\n%s", diff)
			}
			if want := `{"media_type":"application/vnd.oci.image.manifest.v1+json","user_agent":"docker/27.0` + "\uFFFD" + `evil","size":123}`; recs[0].Detail != want {
				t.Errorf("push detail = %s; want %s", recs[0].Detail, want)
			}
		})
	}
}

// TestNoSecretInRecords makes the changes and logins that handle secrets
// and then searches every stored record for them.
func TestNoSecretInRecords(t *testing.T) {
	t.Parallel()
	l, st := openLog(t, PullsAll)
	svc := accounts.NewService(st, accounts.Options{Cost: 4, Changed: l.Changed})
	ctx := accounts.WithActor(edge.WithRequestID(t.Context(), "req-1"), accounts.Actor{Name: "root", Source: SourceCLI})
	const pw, pw2 = "Corr3ct-Horse-Battery", "An0ther-Long-Passw0rd"
	if err := svc.AddUser(ctx, accounts.NewUser{Name: "alice", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPassword(ctx, "alice", pw2); err != nil {
		t.Fatal(err)
	}
	tok, meta, err := svc.CreateToken(ctx, accounts.NewToken{User: "alice", Scopes: []string{"repository:*:pull"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeToken(ctx, meta.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddUser(ctx, accounts.NewUser{Name: "alice", Password: pw}); err == nil {
		t.Fatal("adding alice twice succeeded")
	}
	u, err := st.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	l.Login(t.Context(), tokenserver.Login{Account: "alice", IP: netip.MustParseAddr("127.0.0.1"), Reason: "wrong credentials"})
	l.Login(t.Context(), tokenserver.Login{Account: "alice", Source: "database", IP: netip.MustParseAddr("::1"), OK: true})

	recs := list(t, l, st)
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s %s/%s %s %s", r.Action, r.Actor, r.Source, r.Target, r.Outcome))
		all := fmt.Sprintf("%+v", r)
		for name, secret := range map[string]string{"password": pw, "new password": pw2, "token": tok.Reveal(),
			"token hash": meta.Hash, "password hash": u.PasswordHash} {
			if strings.Contains(all, secret) {
				t.Errorf("the %s is in a record: %s", name, all)
			}
		}
	}
	want := []string{
		"user.create root/cli user alice ok",
		"user.passwd root/cli user alice ok",
		"token.create root/cli user alice token " + meta.ID + " ok",
		"token.revoke root/cli token " + meta.ID + " ok",
		"user.create root/cli user alice failed",
		"login.failed alice/  failed", // a login has no target; its address is in Addr
		"login alice/database  ok",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records differ (-want +got):\n%s", diff)
	}
	if recs[0].RequestID != "req-1" || recs[5].Addr != "127.0.0.1" || recs[6].Addr != "::1" {
		t.Errorf("request id %q, addresses %q and %q; want req-1, 127.0.0.1 and ::1", recs[0].RequestID, recs[5].Addr, recs[6].Addr)
	}
}

func TestEventDetailIsJSON(t *testing.T) {
	t.Parallel()
	for _, ua := range []string{"", "docker/27", "a\"b\\c", "\x00\x1b[31m", "\U000E0001 tag", "\xff\xfe", "emoji 😀", strings.Repeat("x", 1000)} {
		d := (&eventParts{userAgent: ua, mediaType: "m\u2028", from: "\U000E0041", size: 1}).detail()
		if !json.Valid([]byte(d)) {
			t.Errorf("detail for user agent %q is not JSON: %s", ua, d)
		}
	}
	if d := (&eventParts{}).detail(); d != "" {
		t.Errorf("detail of an empty event = %q; want none", d)
	}
}
