package wharfbench

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"wharf/internal/auth"
	"wharf/internal/auth/token"
)

// TestMemoryRegistry checks that the in-memory server answers what the
// small-image and manifest workloads ask as a registry does: a push as
// docker does it, a pull that gets every byte back, HEAD by digest, and
// refusals of a wrong digest and of what it does not hold.
func TestMemoryRegistry(t *testing.T) {
	srv := httptest.NewServer(newMemoryRegistry(nil))
	defer srv.Close()
	ctx, c := t.Context(), newClient()
	im := newImage(randomBytes(1000, 1), randomBytes(2000, 2))
	if err := pushImageChecked(ctx, c, srv.URL, "a/b", im, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := pullImage(ctx, c, srv.URL, "a/b", im, "v1"); err != nil {
		t.Fatal(err)
	}
	res, _, err := do(ctx, c, http.MethodHead, srv.URL+"/v2/a/b/manifests/"+im.manifestDigest, nil, nil, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Header.Get("Docker-Content-Digest"); got != im.manifestDigest {
		t.Errorf("HEAD by digest: Docker-Content-Digest %q, want %q", got, im.manifestDigest)
	}
	if _, _, err := do(ctx, c, http.MethodGet, srv.URL+"/v2/a/b/manifests/v2", nil, nil, http.StatusNotFound); err != nil {
		t.Errorf("unknown tag: %v", err)
	}
	if _, _, err := do(ctx, c, http.MethodGet, srv.URL+"/v2/a/b/blobs/"+digestOf([]byte("x")), nil, nil, http.StatusNotFound); err != nil {
		t.Errorf("unknown blob: %v", err)
	}
	if err := pushBlob(ctx, c, srv.URL, "a/b", []byte("x"), digestOf([]byte("y"))); err == nil {
		t.Error("a blob pushed under another digest was accepted")
	}
}

// TestMemoryRegistryToken checks that the token-auth ceiling verifies
// every request: none without a token, none with a token for another
// repository or for pull only on a push, and all with the right one.
func TestMemoryRegistryToken(t *testing.T) {
	dir := t.TempDir()
	keyPath, certPath, err := signingPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := memoryVerifier(certPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newMemoryRegistry(v))
	defer srv.Close()
	iss := testIssuer(t, keyPath, certPath)
	tok := func(repo string, actions ...string) string {
		tk, err := iss.Issue(t.Context(), benchUser, memoryService, []auth.Access{{Type: "repository", Name: repo, Actions: actions}})
		if err != nil {
			t.Fatal(err)
		}
		return tk.Raw
	}
	ctx, c := t.Context(), newClient()
	im := newImage(randomBytes(1000, 3))
	if err := pushImageChecked(ctx, c, srv.URL, "a/b", im, "v1"); err == nil {
		t.Error("push without a token accepted")
	}
	if err := pushImageChecked(withBearer(ctx, tok("a/b", "pull")), c, srv.URL, "a/b", im, "v1"); err == nil {
		t.Error("push with a pull token accepted")
	}
	if err := pushImageChecked(withBearer(ctx, tok("a/b", "pull", "push")), c, srv.URL, "a/b", im, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := pullImage(withBearer(ctx, tok("a/c", "pull")), c, srv.URL, "a/b", im, "v1"); err == nil {
		t.Error("pull with a token for another repository accepted")
	}
	if err := pullImage(withBearer(ctx, tok("a/b", "pull")), c, srv.URL, "a/b", im, "v1"); err != nil {
		t.Error(err)
	}
}

// testIssuer signs tokens as `wharf auth` does in the benchmarks, with the
// key of signingPair.
func testIssuer(t *testing.T, keyPath, certPath string) *token.Issuer {
	t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(pemBlock(t, keyPath))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pemBlock(t, certPath))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := token.NewIssuer(token.IssuerConfig{Issuer: memoryIssuer, Key: key.(crypto.Signer), Chain: []*x509.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// pemBlock is the bytes of the first PEM block of the file at path.
func pemBlock(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("no PEM block in %s", path)
	}
	return blk.Bytes
}
