package registry

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// failAfter fails its writes once limit bytes were written.
type failAfter struct {
	buf   bytes.Buffer
	limit int
}

var errDisk = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.limit {
		return 0, errDisk
	}
	return f.buf.Write(p)
}

func TestCopyHashed(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, pipelineChunk - 1, pipelineChunk + 1, (pipelineDepth+1)*pipelineChunk + 12345} {
		data := make([]byte, size)
		r := rand.NewChaCha8([32]byte{byte(size)})
		_, _ = r.Read(data)
		want := sha256.Sum256(data)
		for name, src := range map[string]io.Reader{
			"whole":    bytes.NewReader(data),
			"one byte": iotest.OneByteReader(bytes.NewReader(data[:min(size, pipelineChunk/8)])),
			"half":     iotest.HalfReader(bytes.NewReader(data)),
		} {
			expect := data
			if name == "one byte" {
				expect = data[:min(size, pipelineChunk/8)]
				want = sha256.Sum256(expect)
			} else {
				want = sha256.Sum256(data)
			}
			var dst bytes.Buffer
			h := sha256.New()
			n, err := copyHashed(&dst, h, src)
			if err != nil || n != int64(len(expect)) {
				t.Fatalf("size %d, %s: copied %d, %v; want %d", size, name, n, err, len(expect))
			}
			if !bytes.Equal(dst.Bytes(), expect) {
				t.Fatalf("size %d, %s: written bytes differ", size, name)
			}
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Fatalf("size %d, %s: hash differs", size, name)
			}
		}
	}
}

func TestCopyHashedErrors(t *testing.T) {
	t.Parallel()
	data := make([]byte, 5*pipelineChunk)
	dst := &failAfter{limit: 3 * pipelineChunk}
	n, err := copyHashed(dst, sha256.New(), bytes.NewReader(data))
	if !errors.Is(err, errDisk) || n != 3*pipelineChunk {
		t.Errorf("failing writer: %d, %v; want %d, %v", n, err, 3*pipelineChunk, errDisk)
	}
	errNet := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader(data[:pipelineChunk+5]), iotest.ErrReader(errNet))
	var buf bytes.Buffer
	n, err = copyHashed(&buf, sha256.New(), src)
	if !errors.Is(err, errNet) || n != pipelineChunk+5 {
		t.Errorf("failing reader: %d, %v; want %d, %v", n, err, pipelineChunk+5, errNet)
	}
}
