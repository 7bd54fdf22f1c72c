package ociapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/auth"
	"wharf/internal/events"
	"wharf/internal/ociapi"
)

// namedAccount grants every request to one account.
type namedAccount string

func (a namedAccount) Authorize(*http.Request, []auth.Access) (string, error) { return string(a), nil }

// recorder keeps the events it is handed, as strings easy to compare.
type recorder struct {
	mu  sync.Mutex
	got []string
	all []events.Event
}

func (r *recorder) Record(e *events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, *e)
	r.got = append(r.got, fmt.Sprintf("%s %s %s tag=%q from=%q size=%d manifest=%v actor=%q",
		e.Action, e.Repository, short(e.Digest), e.Tag, e.From, e.Size, e.Manifest(), e.Actor))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func short(d digest.Digest) string {
	if d == "" {
		return "-"
	}
	return d.Encoded()[:8]
}

// TestEvents: every completed push, GET pull, mount and delete is recorded
// once, with the account the authorizer granted and the request's origin;
// HEADs, refused and failed requests record nothing.
func TestEvents(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := newServerWith(t, namedAccount("alice"), ociapi.Options{DeleteEnabled: true, Events: rec})
	base := srv.URL
	want := func(step string, w ...string) {
		t.Helper()
		got := rec.take()
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s recorded:\n  %s\nwant:\n  %s", step, strings.Join(got, "\n  "), strings.Join(w, "\n  "))
		}
	}

	config, layer := []byte(`{"architecture":"amd64","os":"linux"}`), []byte("layer bytes")
	cd, ld := pushBlob(t, base, "team/app", config), pushBlob(t, base, "team/app", layer)
	mf := imageManifest(cd, ld, len(config), len(layer))
	md := digest.FromBytes(mf)
	want("blob uploads",
		fmt.Sprintf("push team/app %s tag=\"\" from=\"\" size=%d manifest=false actor=\"alice\"", short(cd), len(config)),
		fmt.Sprintf("push team/app %s tag=\"\" from=\"\" size=%d manifest=false actor=\"alice\"", short(ld), len(layer)))

	expect(t, do(t, "PUT", base+"/v2/team/app/manifests/v1?tag=latest", mf, "Content-Type", ociManifest), http.StatusCreated, "")
	want("manifest push with an extra tag",
		fmt.Sprintf("push team/app %s tag=\"v1\" from=\"\" size=%d manifest=true actor=\"alice\"", short(md), len(mf)),
		fmt.Sprintf("push team/app %s tag=\"latest\" from=\"\" size=%d manifest=true actor=\"alice\"", short(md), len(mf)))

	expect(t, do(t, "HEAD", base+"/v2/team/app/manifests/v1", nil), http.StatusOK, "")
	expect(t, do(t, "HEAD", base+"/v2/team/app/blobs/"+ld.String(), nil), http.StatusOK, "")
	expect(t, do(t, "GET", base+"/v2/team/app/manifests/nosuch", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	expect(t, do(t, "PUT", base+"/v2/team/app/manifests/bad", []byte("{"), "Content-Type", ociManifest), http.StatusBadRequest, "MANIFEST_INVALID")
	want("HEADs and failures")

	expect(t, do(t, "GET", base+"/v2/team/app/manifests/v1", nil), http.StatusOK, "")
	expect(t, do(t, "GET", base+"/v2/team/app/manifests/"+md.String(), nil), http.StatusOK, "")
	expect(t, do(t, "GET", base+"/v2/team/app/blobs/"+ld.String(), nil), http.StatusOK, "")
	want("pulls",
		fmt.Sprintf("pull team/app %s tag=\"v1\" from=\"\" size=%d manifest=true actor=\"alice\"", short(md), len(mf)),
		fmt.Sprintf("pull team/app %s tag=\"\" from=\"\" size=%d manifest=true actor=\"alice\"", short(md), len(mf)),
		fmt.Sprintf("pull team/app %s tag=\"\" from=\"\" size=%d manifest=false actor=\"alice\"", short(ld), len(layer)))

	expect(t, do(t, "POST", base+"/v2/other/app/blobs/uploads/?mount="+ld.String()+"&from=team/app", nil), http.StatusCreated, "")
	want("mount", fmt.Sprintf("mount other/app %s tag=\"\" from=\"team/app\" size=%d manifest=false actor=\"alice\"", short(ld), len(layer)))

	expect(t, do(t, "DELETE", base+"/v2/team/app/manifests/latest", nil), http.StatusAccepted, "")
	expect(t, do(t, "DELETE", base+"/v2/team/app/manifests/"+md.String(), nil), http.StatusAccepted, "")
	expect(t, do(t, "DELETE", base+"/v2/other/app/blobs/"+ld.String(), nil), http.StatusAccepted, "")
	want("deletes",
		"delete team/app - tag=\"latest\" from=\"\" size=0 manifest=false actor=\"alice\"",
		fmt.Sprintf("delete team/app %s tag=\"\" from=\"\" size=0 manifest=false actor=\"alice\"", short(md)),
		fmt.Sprintf("delete other/app %s tag=\"\" from=\"\" size=0 manifest=false actor=\"alice\"", short(ld)))

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.all {
		if e.AddrString() != "127.0.0.1" || e.Host == "" || e.UserAgent == "" || e.Time.IsZero() {
			t.Errorf("event %s %s lacks its origin: addr=%q host=%q ua=%q time=%v", e.Action, e.Repository, e.Addr, e.Host, e.UserAgent, e.Time)
		}
	}
}
