package replicate

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"wharf/internal/events"
	"wharf/internal/metadata"
)

func openStore(t *testing.T) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// remoteRegistry is go-containerregistry's in-memory registry on a
// loopback port.
func remoteRegistry(t *testing.T) (*httptest.Server, name.Registry) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	reg, err := name.NewRegistry(strings.TrimPrefix(srv.URL, "http://"), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return srv, reg
}

// push writes a random image to ref through transport and returns it.
func push(t *testing.T, ref name.Reference, tr http.RoundTripper) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(tr)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return img
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRunnerQueue: a matching push is queued in the database and survives
// a runner that could not copy it (the remote down) and was closed; the
// next runner copies it after its retry delay. Pulls, blob pushes and
// other repositories are not queued.
func TestRunnerQueue(t *testing.T) {
	store := openStore(t)
	local := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	localReg, _ := name.NewRegistry(LocalHost, name.Insecure)
	img := push(t, localReg.Repo("team/app").Tag("1"), InProcess(local))
	d := mustDigest(t, img)
	rule := Spec{Rule: Rule{Name: "to-remote", Repositories: []string{"team/*"}, Prefix: "mirror"}, OnPush: true}

	// The first runner's remote is a closed port.
	down, downReg := remoteRegistry(t)
	down.Close()
	rule.Remote = Remote{Registry: downReg, Transport: http.DefaultTransport}
	r1, err := NewRunner(RunnerOptions{Rules: []Spec{rule}, Local: local, Queue: store, Owner: "one", Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r1.Run(t.Context())
	for _, e := range []events.Event{
		{Action: events.Push, Repository: "team/app", Digest: digest.Digest(d.String()), MediaType: "application/vnd.oci.image.manifest.v1+json", Tag: "1"},
		{Action: events.Pull, Repository: "team/app", Digest: digest.Digest(d.String()), MediaType: "application/vnd.oci.image.manifest.v1+json", Tag: "1"},
		{Action: events.Push, Repository: "team/app", Digest: digest.Digest("sha256:" + strings.Repeat("0", 64))}, // a blob
		{Action: events.Push, Repository: "other/app", Digest: digest.Digest(d.String()), MediaType: "application/vnd.oci.image.manifest.v1+json", Tag: "1"},
	} {
		r1.Record(&e)
	}
	deadline := time.Now().Add(10 * time.Second)
	var ns []metadata.Notification
	for time.Now().Before(deadline) {
		if ns, err = store.PendingNotifications(t.Context(), QueueName("to-remote"), 0); err != nil {
			t.Fatal(err)
		}
		if len(ns) == 1 && ns[0].Attempts > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r1.Close()
	if len(ns) != 1 || ns[0].Attempts == 0 || !strings.Contains(string(ns[0].Body), d.String()) {
		t.Fatalf("queue after a failed attempt = %+v; want the one push, attempted", ns)
	}

	// The second runner reaches the remote.
	srv, reg := remoteRegistry(t)
	rule.Remote = Remote{Registry: reg, Transport: srv.Client().Transport}
	r2, err := NewRunner(RunnerOptions{Rules: []Spec{rule}, Local: local, Queue: store, Owner: "two", Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r2.Run(t.Context())
	defer r2.Close()
	dst := reg.Repo("mirror/team/app").Tag("1")
	deadline = time.Now().Add(30 * time.Second)
	for {
		if desc, err := remote.Head(dst, remote.WithTransport(srv.Client().Transport)); err == nil {
			if desc.Digest != d {
				t.Fatalf("%s is %s; want %s", dst, desc.Digest, d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never arrived", dst)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		ns, err := store.PendingNotifications(t.Context(), QueueName("to-remote"), 0)
		rules, rerr := store.ReplicationRules(t.Context())
		if err != nil || rerr != nil {
			t.Fatal(err, rerr)
		}
		if len(ns) == 0 && len(rules) == 1 && rules[0].Copied == 1 && rules[0].Failed >= 1 && rules[0].LastError == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %+v, status %+v; want the queue empty, one copy, a failure before it and no last error", ns, rules)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunRule: a pull rule copies every matching tag from the remote to
// this registry under its prefix, leaves cosign's tags to their subjects
// and other tags alone, and a second run finds everything current.
func TestRunRule(t *testing.T) {
	store := openStore(t)
	local := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv, reg := remoteRegistry(t)
	tr := srv.Client().Transport
	a := push(t, reg.Repo("team/a").Tag("v1"), tr)
	push(t, reg.Repo("team/b").Tag("v2"), tr)
	push(t, reg.Repo("team/b").Tag("latest"), tr) // not a v* tag
	push(t, reg.Repo("other/c").Tag("v1"), tr)    // not a team/* repository
	sig := push(t, reg.Repo("team/a").Tag("sha256-"+mustDigest(t, a).Hex+".sig"), tr)
	rule := Spec{Rule: Rule{Name: "from-remote", Pull: true, Repositories: []string{"team/*"}, Tags: []string{"v*"}, Prefix: "copy"},
		Remote: Remote{Registry: reg, Transport: tr}}
	r, err := NewRunner(RunnerOptions{Rules: []Spec{rule}, Local: local, Queue: store})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RunRule(t.Context(), "from-remote")
	if err != nil || res.Copied != 2 || res.Current != 0 || res.Failed != 0 {
		t.Fatalf("first run = %+v, %v; want 2 copied", res, err)
	}
	localReg, _ := name.NewRegistry(LocalHost, name.Insecure)
	got, err := remote.Head(localReg.Repo("copy/team/a").Tag("sha256-"+mustDigest(t, a).Hex+".sig"), remote.WithTransport(InProcess(local)))
	if err != nil || got.Digest != mustDigest(t, sig) {
		t.Errorf("the cosign tag of team/a:v1 here = %v, %v; want %s", got, err, mustDigest(t, sig))
	}
	for _, ref := range []string{"copy/team/b:latest", "copy/other/c:v1", "other/c:v1"} {
		r, _ := name.ParseReference(LocalHost+"/"+ref, name.Insecure)
		if _, err := remote.Head(r, remote.WithTransport(InProcess(local))); err == nil {
			t.Errorf("%s was copied; the rule does not match it", ref)
		}
	}
	if res, err := r.RunRule(t.Context(), "from-remote"); err != nil || res.Copied != 0 || res.Current != 2 {
		t.Errorf("second run = %+v, %v; want 2 current, none copied", res, err)
	}
	if _, err := r.RunRule(t.Context(), "nope"); err == nil {
		t.Error("an unknown rule ran")
	}
}
