package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// httpClient is used for every plain HTTP check; nothing in e2e should hang.
var httpClient = &http.Client{Timeout: 5 * time.Minute}

// maxBody bounds how much of a response body a check reads into memory.
const maxBody = 64 << 20

// response is a fully read HTTP response, small enough to print on failure.
type response struct {
	req    string
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	b := r.Body
	if len(b) > 512 {
		b = append(b[:512:512], "…"...)
	}
	return fmt.Sprintf("%s → %d %v %q", r.req, r.Status, r.Header, b)
}

// do sends one request; headers come as name, value pairs.
func do(t testing.TB, method, rawURL string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, rawURL, err)
	}
	return response{req: method + " " + rawURL, Status: resp.StatusCode, Header: resp.Header, Body: data}
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// listAll GETs a paginated JSON list (_catalog or tags/list), following
// Link: <…>; rel="next" for at most 100 pages, and returns field's values.
func listAll(t testing.TB, base, path, field string) []string {
	t.Helper()
	next, err := url.Parse(base + path)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for page := 0; next != nil; page++ {
		if page == 100 {
			t.Fatalf("%s: more than 100 pages of results", path)
		}
		r := do(t, http.MethodGet, next.String(), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %v", r)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("list: %v: %v", r, err)
		}
		var items []string
		if raw, ok := body[field]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &items); err != nil {
				t.Fatalf("list: field %q: %v: %v", field, r, err)
			}
		}
		all = append(all, items...)
		cur := next
		next = nil
		if m := linkNext.FindStringSubmatch(r.Header.Get("Link")); m != nil {
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatalf("list: bad Link header: %v", r)
			}
			next = cur.ResolveReference(u)
		}
	}
	return all
}

func catalog(t testing.TB, w *harness.Wharf) []string {
	t.Helper()
	return listAll(t, w.URL(), "/v2/_catalog", "repositories")
}

func tags(t testing.TB, w *harness.Wharf, repo string) []string {
	t.Helper()
	return listAll(t, w.URL(), "/v2/"+repo+"/tags/list", "tags")
}

func TestPing(t *testing.T) {
	harness.SkipIfShort(t)
	w := startWharf(t)
	r := do(t, http.MethodGet, w.URL()+"/v2/", nil)
	if r.Status != http.StatusOK {
		t.Errorf("want 200: %v", r)
	}
	if got := r.Header.Get("Docker-Distribution-Api-Version"); got != "registry/2.0" {
		t.Errorf("Docker-Distribution-Api-Version = %q, want registry/2.0: %v", got, r)
	}
	// An unknown repository is a 404 with an OCI error body, never a 5xx.
	r = do(t, http.MethodGet, w.URL()+"/v2/no/such/repo/manifests/latest", nil)
	if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), `"errors"`) {
		t.Errorf("want 404 with an OCI error body: %v", r)
	}
}

// TestListPagination checks ?n= and ?last= on tags/list and _catalog, and
// that following the Link header visits every entry exactly once.
func TestListPagination(t *testing.T) {
	harness.SkipIfShort(t)
	w := startWharf(t)
	ctx := testContext(t, 2*time.Minute)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	allTags := []string{"a", "b", "c", "d", "e"}
	for _, repo := range []string{"e2e/page1", "e2e/page2", "e2e/page3"} {
		if err := remote.Write(ref(t, w, repo+":"+allTags[0]), img, remoteOpts(ctx)...); err != nil {
			t.Fatalf("push %s: %v", repo, err)
		}
		for _, tag := range allTags[1:] {
			if err := remote.Tag(ref(t, w, repo+":"+tag).(name.Tag), img, remoteOpts(ctx)...); err != nil {
				t.Fatalf("tag %s:%s: %v", repo, tag, err)
			}
		}
	}

	for _, tc := range []struct {
		path, field string
		want        []string
		wantNext    bool // a Link: …; rel="next" header
	}{
		{"/v2/e2e/page1/tags/list", "tags", allTags, false},
		{"/v2/e2e/page1/tags/list?n=2", "tags", []string{"a", "b"}, true},
		{"/v2/e2e/page1/tags/list?last=b", "tags", []string{"c", "d", "e"}, false},
		{"/v2/e2e/page1/tags/list?n=2&last=b", "tags", []string{"c", "d"}, true},
		{"/v2/e2e/page1/tags/list?n=5&last=e", "tags", nil, false},
		{"/v2/_catalog?n=1", "repositories", []string{"e2e/page1"}, true},
		{"/v2/_catalog?n=1&last=e2e/page1", "repositories", []string{"e2e/page2"}, true},
		{"/v2/_catalog?last=e2e/page2", "repositories", []string{"e2e/page3"}, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := do(t, http.MethodGet, w.URL()+tc.path, nil)
			var body map[string]json.RawMessage
			var got []string
			if r.Status == http.StatusOK && json.Unmarshal(r.Body, &body) == nil {
				_ = json.Unmarshal(body[tc.field], &got)
			}
			if r.Status != http.StatusOK || !slices.Equal(got, tc.want) {
				t.Errorf("want 200 with %s %q: %v", tc.field, tc.want, r)
			}
			if hasNext := linkNext.MatchString(r.Header.Get("Link")); hasNext != tc.wantNext {
				t.Errorf("Link rel=next present = %v, want %v: %v", hasNext, tc.wantNext, r)
			}
		})
	}
	if got := listAll(t, w.URL(), "/v2/e2e/page2/tags/list?n=2", "tags"); !slices.Equal(got, allTags) {
		t.Errorf("following Link from tags/list?n=2 gave %q, want %q", got, allTags)
	}
	if got := listAll(t, w.URL(), "/v2/_catalog?n=1", "repositories"); !slices.Equal(got, []string{"e2e/page1", "e2e/page2", "e2e/page3"}) {
		t.Errorf("following Link from _catalog?n=1 gave %q", got)
	}
}

// startWharf starts the server for one test, with extra flags. Before it
// is stopped, the clients' idle connections are closed: a connection that a
// client dialled but never used holds up a graceful shutdown for 5 s
// (net/http treats it as active that long), which would only slow the
// tests down.
func startWharf(t *testing.T, extra ...string) *harness.Wharf {
	t.Helper()
	w := harness.StartWharf(t, extra...)
	t.Cleanup(func() {
		httpClient.CloseIdleConnections()
		plainHTTP.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	})
	return w
}
