package registry

import (
	"log/slog"
	"sync"
	"time"

	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// MaxManifestSize is the largest manifest accepted (4 MiB, as distribution).
const MaxManifestSize = 4 << 20

// Options tunes a Registry.
type Options struct {
	// AnonymousMount lets a cross-repository mount without a `from`
	// parameter link any blob the registry already holds. It is only safe
	// when every client may read every repository (no authorization).
	AnonymousMount bool
	// MaxUploads is how many uploads may copy request bodies at once: it
	// sizes the budget of copy buffers (up to 3 MiB per upload), past which
	// a copy waits for a buffer to be returned. The HTTP layer refuses
	// uploads past the same count, so nothing waits in practice. Zero
	// means no budget.
	MaxUploads int
	// ReadOnly refuses every write for good (read_only: true); the
	// database's read-only mode (set at runtime) applies otherwise.
	ReadOnly bool
	// Admission, when set, may refuse manifest pushes (quotas).
	Admission Admission
	// Replicas says other servers share the metadata database and the
	// blobs: the requests of one upload session then take turns through a
	// lease in the database, not only a mutex of this process.
	Replicas bool
}

// Registry implements push and pull over a blob driver and a metadata store.
type Registry struct {
	blobs storage.Driver
	meta  *metadata.Store
	log   *slog.Logger
	opts  Options
	bufs  *bufferPool

	// uploadLocks serialises requests on the same upload session so that
	// two PATCHes cannot interleave their bytes (lockUpload).
	uploadLocks keyedMutex

	ro readOnly

	// manifests caches manifest lookups by tag (manifestcache.go).
	manifests *manifestCache
	// links caches blob links for one change generation (linkcache.go).
	links linkCache
}

// New returns a Registry. log must not be nil.
func New(blobs storage.Driver, meta *metadata.Store, log *slog.Logger, opts Options) *Registry {
	r := &Registry{blobs: blobs, meta: meta, log: log.With("component", "registry"), opts: opts,
		bufs: newBufferPool(opts.MaxUploads), manifests: newManifestCache()}
	r.ro.meta, r.ro.now = meta, time.Now
	if opts.ReadOnly {
		r.ro.static = "read_only is set in the configuration"
	}
	return r
}

// keyedMutex is a set of mutexes created on demand and dropped when unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refMutex{}
	}
	m := k.locks[key]
	if m == nil {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		m.refs--
		if m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
