package registry

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"
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
			n, err := copyHashed(t.Context(), newBufferPool(0), &dst, h, src)
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
	n, err := copyHashed(t.Context(), newBufferPool(0), dst, sha256.New(), bytes.NewReader(data))
	if !errors.Is(err, errDisk) || n != 3*pipelineChunk {
		t.Errorf("failing writer: %d, %v; want %d, %v", n, err, 3*pipelineChunk, errDisk)
	}
	errNet := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader(data[:pipelineChunk+5]), iotest.ErrReader(errNet))
	var buf bytes.Buffer
	n, err = copyHashed(t.Context(), newBufferPool(0), &buf, sha256.New(), src)
	if !errors.Is(err, errNet) || n != pipelineChunk+5 {
		t.Errorf("failing reader: %d, %v; want %d, %v", n, err, pipelineChunk+5, errNet)
	}
}

// stallReader tells entered it is being read, blocks until release is
// closed, then fails with err.
type stallReader struct {
	entered, release chan struct{}
	err              error
}

func (s stallReader) Read([]byte) (int, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return 0, s.err
}

// TestCopyHashedStalled: a body that stops sending mid-chunk holds one
// buffer of the pool, not the pipeline's three, and when its reader fails
// every byte read has been written and hashed, so they can be kept.
func TestCopyHashedStalled(t *testing.T) {
	t.Parallel()
	bufs := newBufferPool(1) // a budget of pipelineDepth chunks
	data := make([]byte, 2*pipelineChunk+pipelineChunk/2)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(data)
	stall := stallReader{entered: make(chan struct{}, 1), release: make(chan struct{}), err: ErrUploadStalled}
	var dst bytes.Buffer // the test reads it once the copy is done
	h := sha256.New()
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := copyHashed(t.Context(), bufs, &dst, h, io.MultiReader(bytes.NewReader(data), stall))
		done <- result{n, err}
	}()

	// The copy reads the third chunk when the body stalls. Once the two
	// full chunks are written and hashed their buffers are back, and two
	// chunks' worth of the budget is free (with all three held, it never
	// is); the third stays lent.
	<-stall.entered
	const two = (pipelineDepth - 1) * pipelineChunk
	deadline := time.Now().Add(20 * time.Second)
	for !bufs.budget.TryAcquire(two) {
		if time.Now().After(deadline) {
			close(stall.release)
			<-done
			t.Fatal("a stalled copy still holds more than one buffer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	bufs.budget.Release(two)
	if bufs.budget.TryAcquire(pipelineDepth * pipelineChunk) {
		bufs.budget.Release(pipelineDepth * pipelineChunk)
		t.Error("the stalled copy holds no buffer while reading")
	}

	close(stall.release)
	res := <-done
	if !errors.Is(res.err, ErrUploadStalled) || res.n != int64(len(data)) || dst.Len() != len(data) {
		t.Fatalf("copy of a stalled body: %d bytes, %v, %d written; want %d, %v", res.n, res.err, dst.Len(), len(data), ErrUploadStalled)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("the hash did not see every byte written")
	}
	if !bufs.budget.TryAcquire(pipelineDepth * pipelineChunk) {
		t.Error("buffers were not returned to the pool")
	}
}
