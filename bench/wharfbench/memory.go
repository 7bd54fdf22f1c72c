package wharfbench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"wharf/internal/auth/token"
)

// The in-memory server is the ceiling of the small-request rows: a plain
// net/http handler that answers the same requests as a registry (blob
// HEAD, POST+PUT of an upload, manifest PUT, manifest GET by tag and HEAD
// by digest, blob GET), with the same headers, from maps in memory. It
// verifies each pushed digest, as a registry must, but stores nothing on
// disk and keeps no database: what a registry would reach if its own work
// cost nothing, with the same client, kernel and HTTP stack. With a
// certificate, it also verifies the bearer token of every request with
// wharf's own token verifier, uncached: the ceiling of the token-auth rows.
// It runs in a process of its own, as the registries do (the benchmarks'
// executable again, see ServeReceiveProbe).

// memoryProbe is receiveProbeEnv's value for the in-memory server; it
// listens on the address in memoryAddrEnv and, when memoryCertEnv names a
// PEM certificate, verifies tokens signed by its key.
const (
	memoryProbe   = "memory"
	memoryAddrEnv = "WHARFBENCH_MEMORY_ADDR"
	memoryCertEnv = "WHARFBENCH_MEMORY_CERT"
	// memoryService and memoryIssuer are what `wharf auth` puts in the
	// tokens of the token-auth pair (dockerAuthConfig, distributionTokenConfig).
	memoryIssuer  = "wharfbench"
	memoryService = "Docker registry"
)

// startMemory starts the in-memory server named name, its log in
// dir/<name>.log; with cert, the path of the token signer's certificate,
// it refuses requests without a valid token for their repository.
func startMemory(ctx context.Context, dir, name, cert string) (*server, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("wharfbench: in-memory server: %w", err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	env := []string{receiveProbeEnv + "=" + memoryProbe, memoryAddrEnv + "=" + addr, memoryCertEnv + "=" + cert}
	return startProcess(ctx, name, addr, "/v2/", filepath.Join(dir, name+".log"), env, func(res *http.Response) bool {
		return res.StatusCode == http.StatusOK || res.StatusCode == http.StatusUnauthorized
	}, exe)
}

// serveMemory is the in-memory server's process: it serves until SIGTERM.
func serveMemory() error {
	var v *token.Verifier
	if path := os.Getenv(memoryCertEnv); path != "" {
		var err error
		if v, err = memoryVerifier(path); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", os.Getenv(memoryAddrEnv))
	if err != nil {
		return fmt.Errorf("wharfbench: in-memory server: %w", err)
	}
	srv := &http.Server{Handler: newMemoryRegistry(v), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("wharfbench: in-memory server: %w", err)
	}
	return nil
}

// memoryVerifier trusts the signer whose PEM certificate is at path, for
// the issuer and service of `wharf auth`'s tokens.
func memoryVerifier(path string) (*token.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wharfbench: in-memory server: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("wharfbench: in-memory server: no PEM certificate in %s", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("wharfbench: in-memory server: %s: %w", path, err)
	}
	v, err := token.NewVerifier(token.VerifierConfig{Issuer: memoryIssuer, Service: memoryService, Roots: []*x509.Certificate{c}})
	if err != nil {
		return nil, fmt.Errorf("wharfbench: in-memory server: %w", err)
	}
	return v, nil
}

// memoryRegistry is the in-memory server's handler.
type memoryRegistry struct {
	verifier *token.Verifier // nil: no auth
	mu       sync.RWMutex
	blobs    map[string][]byte // by digest, across repositories
	// manifests maps "repo:tag" and "repo@digest" to a manifest.
	manifests map[string]memoryManifest
}

type memoryManifest struct {
	body              []byte
	mediaType, digest string
	contentLen        string
}

func newMemoryRegistry(v *token.Verifier) *memoryRegistry {
	return &memoryRegistry{verifier: v, blobs: map[string][]byte{}, manifests: map[string]memoryManifest{}}
}

func (m *memoryRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "" {
		if m.verifier != nil && !m.authorized(r, "", "") {
			m.challenge(w)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	repo, kind, ref := splitRegistryPath(rest)
	if repo == "" {
		http.NotFound(w, r)
		return
	}
	action := "pull"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		action = "push"
	}
	if m.verifier != nil && !m.authorized(r, repo, action) {
		m.challenge(w)
		return
	}
	switch {
	case kind == "blobs" && ref == "uploads/" && r.Method == http.MethodPost:
		w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+rand.Text())
		w.Header().Set("Range", "0-0")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
	case kind == "blobs" && strings.HasPrefix(ref, "uploads/") && r.Method == http.MethodPut:
		m.putBlob(w, r, repo)
	case kind == "blobs" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		m.mu.RLock()
		b, ok := m.blobs[ref]
		m.mu.RUnlock()
		serveStored(w, r, ok, b, "application/octet-stream", strconv.Itoa(len(b)), ref)
	case kind == "manifests" && r.Method == http.MethodPut:
		m.putManifest(w, r, repo, ref)
	case kind == "manifests" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		key := repo + ":" + ref
		if strings.Contains(ref, ":") {
			key = repo + "@" + ref
		}
		m.mu.RLock()
		mf, ok := m.manifests[key]
		m.mu.RUnlock()
		serveStored(w, r, ok, mf.body, mf.mediaType, mf.contentLen, mf.digest)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// serveStored answers a GET or HEAD of what the server holds (found) with
// a registry's headers, or 404.
func serveStored(w http.ResponseWriter, r *http.Request, found bool, body []byte, mediaType, length, digest string) {
	if !found {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mediaType)
	h.Set("Content-Length", length)
	h.Set("Docker-Content-Digest", digest)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// splitRegistryPath splits "name/…/blobs/ref" or "name/…/manifests/ref".
func splitRegistryPath(p string) (repo, kind, ref string) {
	for _, k := range []string{"/blobs/", "/manifests/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			if k == "/blobs/" {
				if j := strings.Index(p, "/blobs/uploads/"); j > 0 {
					i = j
				}
			}
			return p[:i], strings.Trim(k, "/"), p[i+len(k):]
		}
	}
	return "", "", ""
}

// putBlob reads an upload's body, checks it hashes to ?digest and keeps it.
func (m *memoryRegistry) putBlob(w http.ResponseWriter, r *http.Request, repo string) {
	want := r.URL.Query().Get("digest")
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if got := sha256Digest(b); got != want {
		http.Error(w, "digest does not match", http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.blobs[want] = b
	m.mu.Unlock()
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+want)
	w.Header().Set("Docker-Content-Digest", want)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// putManifest keeps a manifest under its tag and its digest.
func (m *memoryRegistry) putManifest(w http.ResponseWriter, r *http.Request, repo, ref string) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d := sha256Digest(b)
	mf := memoryManifest{body: b, mediaType: r.Header.Get("Content-Type"), digest: d, contentLen: strconv.Itoa(len(b))}
	m.mu.Lock()
	m.manifests[repo+"@"+d] = mf
	if !strings.Contains(ref, ":") {
		m.manifests[repo+":"+ref] = mf
	}
	m.mu.Unlock()
	w.Header().Set("Location", "/v2/"+repo+"/manifests/"+d)
	w.Header().Set("Docker-Content-Digest", d)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// authorized verifies the bearer token and, for a repository, that it
// grants action there; "" asks only for a valid token (GET /v2/).
func (m *memoryRegistry) authorized(r *http.Request, repo, action string) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	c, err := m.verifier.Verify(raw)
	if err != nil {
		return false
	}
	return repo == "" || c.Allows("repository", repo, action)
}

func (m *memoryRegistry) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="unused",service="`+memoryService+`"`)
	w.WriteHeader(http.StatusUnauthorized)
}
