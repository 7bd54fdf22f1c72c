package upstreamcreds

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// keySize is AES-256's.
const keySize = 32

// ErrNoKey is a key file that does not exist.
var ErrNoKey = errors.New("upstreamcreds: no key file")

// Key seals and opens stored passwords.
type Key struct {
	aead cipher.AEAD
	id   string
	path string
}

// ID is the key's fingerprint, which stored credentials name; it reveals
// nothing of the key.
func (k *Key) ID() string { return k.id }

// Path is the file the key was read from.
func (k *Key) Path() string { return k.path }

// newKey builds a Key from its 32 bytes.
func newKey(raw []byte, path string) (*Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("upstreamcreds: key %s: %w", path, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("upstreamcreds: key %s: %w", path, err)
	}
	sum := sha256.Sum256(append([]byte("wharf upstream credentials key id\x00"), raw...))
	return &Key{aead: aead, id: hex.EncodeToString(sum[:8]), path: path}, nil
}

// keyFix says how to make a key file by hand.
const keyFix = "make one with `openssl rand -base64 32 > FILE; chmod 600 FILE` and give every replica the same file"

// LoadKey reads the key at path: 32 bytes in base64 on one line. ErrNoKey
// when the file does not exist.
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %s: %s", ErrNoKey, path, keyFix)
	}
	if err != nil {
		return nil, fmt.Errorf("upstreamcreds: key %s: %w", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != keySize {
		return nil, fmt.Errorf("upstreamcreds: key %s does not hold 32 bytes in base64: %s", path, keyFix)
	}
	return newKey(raw, path)
}

// EnsureKey reads the key at path, or makes one there (mode 0600, its
// directory 0700) when there is none.
func EnsureKey(path string) (*Key, error) {
	k, err := LoadKey(path)
	if !errors.Is(err, ErrNoKey) {
		return k, err
	}
	raw := make([]byte, keySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("upstreamcreds: new key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("upstreamcreds: new key: %w", err)
	}
	// O_EXCL: two processes making the key at once keep the first one's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("upstreamcreds: new key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("upstreamcreds: new key %s: %w", path, err)
	}
	return newKey(raw, path)
}

// sealVersion is the first byte of a sealed password.
const sealVersion = 1

// aad binds a sealed password to its upstream and username.
func aad(upstream, username string) []byte {
	return []byte("wharf upstream credential\x00" + upstream + "\x00" + username)
}

// seal encrypts password for upstream and username.
func (k *Key) seal(upstream, username string, password []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("upstreamcreds: seal: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return k.aead.Seal(out, nonce, password, aad(upstream, username)), nil
}

// errTampered is a sealed password that does not open under the key it
// names: corrupted, or moved to another upstream or username.
var errTampered = errors.New("does not open: it was altered or copied from another upstream")

// open decrypts a password seal made for upstream and username.
func (k *Key) open(upstream, username string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errTampered
	}
	pt, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad(upstream, username))
	if err != nil {
		return nil, errTampered
	}
	return pt, nil
}
