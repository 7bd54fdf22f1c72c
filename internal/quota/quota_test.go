package quota

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
)

func openStore(t *testing.T) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func glob(p string, limit int64) Rule {
	return Rule{Pattern: p, Bytes: limit, Match: func(repo string) bool { ok, _ := path.Match(p, repo); return ok }}
}

// image links blobs of the given sizes (content named by key) into repo and
// returns a manifest referring to them; its own size is 100 bytes.
func image(t *testing.T, s *metadata.Store, repo, name string, blobs map[string]int64) *metadata.Manifest {
	t.Helper()
	return metadatatest.Image(t, s, repo, name, blobs)
}

// push admits and stores m, returning Admit's error.
func push(t *testing.T, e *Enforcer, s *metadata.Store, m *metadata.Manifest) error {
	t.Helper()
	release, err := e.Admit(t.Context(), m)
	if err != nil {
		return err
	}
	err = s.PutManifest(t.Context(), m, []string{"latest"})
	release(err == nil)
	if err != nil {
		t.Fatal(err)
	}
	return nil
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	e := New(s, nil, []Rule{glob("team/*", 2000)})

	// 1000 + 100: within 2000.
	if err := push(t, e, s, image(t, s, "team/app", "app", map[string]int64{"base": 1000})); err != nil {
		t.Fatalf("first push: %v", err)
	}
	// The shared base counts once: 500 + 100 more, 1700 in all.
	if err := push(t, e, s, image(t, s, "team/db", "db", map[string]int64{"base": 1000, "db": 500})); err != nil {
		t.Fatalf("push sharing the base: %v", err)
	}
	// 400 + 100 more would make 2200.
	big := image(t, s, "team/web", "web", map[string]int64{"base": 1000, "web": 400})
	err := push(t, e, s, big)
	var ex *ExceededError
	if !errors.As(err, &ex) {
		t.Fatalf("push over the limit: got %v, want *ExceededError", err)
	}
	if *ex != (ExceededError{Pattern: "team/*", Limit: 2000, Usage: 1700, Added: 500}) {
		t.Errorf("ExceededError = %+v", *ex)
	}
	for _, want := range []string{`quota "team/*" of 2.0 KiB exceeded`, "use 1.7 KiB", "adds 500 B"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	// A repository no rule matches is not limited.
	if err := push(t, e, s, image(t, s, "other", "other", map[string]int64{"huge": 1 << 40})); err != nil {
		t.Errorf("push outside the quota: %v", err)
	}
	// Re-pushing what the group holds adds nothing and is admitted.
	if err := push(t, e, s, image(t, s, "team/app", "app", map[string]int64{"base": 1000})); err != nil {
		t.Errorf("re-push: %v", err)
	}
	// A delete frees the space once forgotten.
	if _, err := s.DeleteRepository(t.Context(), "team/db"); err != nil {
		t.Fatal(err)
	}
	e.Forget("team/db")
	if err := push(t, e, s, big); err != nil {
		t.Errorf("push after a delete: %v", err)
	}
}

func TestAdmitReleaseOnFailure(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	e := New(s, nil, []Rule{glob("a", 1500)})
	m := image(t, s, "a", "one", map[string]int64{"x": 1000})
	release, err := e.Admit(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	// While reserved, another push of 1100 does not fit...
	other := image(t, s, "a", "two", map[string]int64{"y": 1000})
	if _, err := e.Admit(t.Context(), other); err == nil {
		t.Fatal("second push admitted while the first holds its reservation")
	}
	// ...and once the first write failed, it does.
	release(false)
	if _, err := e.Admit(t.Context(), other); err != nil {
		t.Errorf("after release(false): %v", err)
	}
}

// Concurrent pushes of one process never take a group over its limit:
// with room for exactly 3 images of 1100 bytes, 3 of 10 are admitted.
func TestAdmitConcurrent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	e := New(s, nil, []Rule{glob("c/*", 3*1100+50)})
	ms := make([]*metadata.Manifest, 10)
	for i := range ms {
		ms[i] = image(t, s, fmt.Sprintf("c/r%d", i), fmt.Sprint(i), map[string]int64{fmt.Sprint("layer", i): 1000})
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted int
	)
	for _, m := range ms {
		wg.Go(func() {
			release, err := e.Admit(t.Context(), m)
			if err != nil {
				return
			}
			err = s.PutManifest(t.Context(), m, nil)
			release(err == nil)
			mu.Lock()
			admitted++
			mu.Unlock()
		})
	}
	wg.Wait()
	if admitted != 3 {
		t.Errorf("%d pushes admitted, want 3", admitted)
	}
	st, err := Statuses(t.Context(), s, []Rule{e.rules[0].Rule})
	if err != nil || st[0].Usage != 3*1100 || st[0].Repositories != 3 {
		t.Errorf("Statuses = %+v, %v; want 3 repositories using %d", st, err, 3*1100)
	}
	if mine, err := e.Statuses(t.Context()); err != nil || len(mine) != 1 || mine[0] != st[0] {
		t.Errorf("the enforcer's Statuses = %+v, %v; want %+v", mine, err, st)
	}
}

// A refusal reads the usage again, so what another process deleted frees
// space at once; what another process pushed is seen after RefreshAfter.
func TestAdmitSeesOtherProcesses(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	e := New(s, nil, []Rule{glob("r/*", 2500)})
	now := time.Now()
	e.now = func() time.Time { return now }
	if err := push(t, e, s, image(t, s, "r/a", "one", map[string]int64{"x": 1000})); err != nil {
		t.Fatal(err)
	}
	// Another process deletes r/a and pushes 1100 bytes to r/b.
	if _, err := s.DeleteRepository(t.Context(), "r/a"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutManifest(t.Context(), image(t, s, "r/b", "two", map[string]int64{"y": 1000}), nil); err != nil {
		t.Fatal(err)
	}
	// Kept: 1100 (r/a). 1100 more fits, whatever the database says.
	if err := push(t, e, s, image(t, s, "r/c", "three", map[string]int64{"z": 1000})); err != nil {
		t.Fatalf("push within the kept figure: %v", err)
	}
	// Kept: 2200. Another 1100 would be over, so the usage is read again:
	// r/b and r/c, 2200 (r/a's bytes are freed) — still over, refused with
	// the figure read.
	var ex *ExceededError
	err := push(t, e, s, image(t, s, "r/d", "four", map[string]int64{"w": 1000}))
	if !errors.As(err, &ex) || ex.Usage != 2200 {
		t.Fatalf("push over the limit: %v, want the usage read again (2200)", err)
	}
	// Deleting r/b elsewhere frees its 1100 for the next push at once.
	if _, err := s.DeleteRepository(t.Context(), "r/b"); err != nil {
		t.Fatal(err)
	}
	if err := push(t, e, s, image(t, s, "r/d", "four", map[string]int64{"w": 1000})); err != nil {
		t.Errorf("push after another process freed space: %v", err)
	}
	// Pushes elsewhere are seen after RefreshAfter: the kept figure is 2200
	// (r/c, r/d); another process adds 300 to r/c.
	if err := s.PutManifest(t.Context(), image(t, s, "r/c", "five", map[string]int64{"v": 200}), nil); err != nil {
		t.Fatal(err)
	}
	now = now.Add(RefreshAfter + time.Second)
	small := image(t, s, "r/c", "six", map[string]int64{"u": 1})
	err = push(t, e, s, small)
	if !errors.As(err, &ex) || ex.Usage != 2500 {
		t.Errorf("after RefreshAfter: %v, want a refusal at the usage read again (2500)", err)
	}
}

func TestCheckBlob(t *testing.T) {
	t.Parallel()
	e := New(nil, nil, []Rule{glob("team/*", 1000), glob("team/big", 5000)})
	for _, tc := range []struct {
		repo string
		size int64
		want string
	}{
		{"team/app", 1000, ""},
		{"team/app", 1001, `quota "team/*" of 1000 B: this blob alone is 1001 B`},
		{"team/big", 1001, `quota "team/*"`}, // both rules apply; the smaller refuses
		{"other", 1 << 40, ""},
	} {
		err := e.CheckBlob(tc.repo, tc.size)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("CheckBlob(%s, %d) = %v, want %q", tc.repo, tc.size, err, tc.want)
		}
	}
}

func TestNewWithoutRules(t *testing.T) {
	t.Parallel()
	if e := New(nil, nil, nil); e != nil {
		t.Errorf("New without rules = %v, want nil", e)
	}
}
