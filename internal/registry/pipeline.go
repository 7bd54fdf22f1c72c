package registry

import (
	"context"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// pipelineChunk and pipelineDepth size the buffers of copyHashed: at most
// 3 MiB in flight per upload, borrowed from the registry's bufferPool one
// chunk at a time. One chunk is read while the one before is hashed and
// written, and the third absorbs a write that waits for the disk. Pushes
// are as fast with 2, 3 or 4 chunks (and no faster with up to 16), and
// each chunk fewer is 1 MiB less resident during a push.
const (
	pipelineChunk = copyBufferSize
	pipelineDepth = 3
)

// chunk is one buffer on its way through copyHashed; refs counts the two
// stages (hash, write) still using it.
type chunk struct {
	buf  *[]byte
	n    int
	refs atomic.Int32
}

// copyHashed copies src to dst and into h, like io.Copy to an
// io.MultiWriter(dst, h), but hashes and writes each chunk at the same
// time, on two goroutines, while the next chunk is read: on a push the
// SHA-256 and the copy into the page cache no longer wait for each other.
// It returns the bytes read from src and written to both; on an error the
// hash may have seen bytes dst did not, which callers handle as they do any
// failed copy (the upload resumes from its last acknowledged state). An
// error of src is returned only when every byte read was written and
// hashed.
//
// Each chunk's buffer goes back to bufs as soon as it is hashed and
// written, and the next is borrowed just before it is read: a body that
// stops sending holds the one buffer it is being read into, not three.
func copyHashed(ctx context.Context, bufs *bufferPool, dst io.Writer, h hash.Hash, src io.Reader) (int64, error) {
	// inFlight has a token per chunk between its read and its release.
	inFlight := make(chan struct{}, pipelineDepth)
	release := func(c *chunk) {
		if c.refs.Add(-1) == 0 {
			bufs.put(c.buf)
			<-inFlight
		}
	}
	toHash := make(chan *chunk, pipelineDepth)
	toWrite := make(chan *chunk, pipelineDepth)
	var (
		written  int64
		writeErr atomic.Pointer[error]
		stages   sync.WaitGroup
	)
	stages.Go(func() {
		for c := range toHash {
			h.Write((*c.buf)[:c.n])
			release(c)
		}
	})
	stages.Go(func() {
		for c := range toWrite {
			if writeErr.Load() == nil {
				n, err := dst.Write((*c.buf)[:c.n])
				written += int64(n)
				if err == nil && n != c.n {
					err = io.ErrShortWrite
				}
				if err != nil {
					writeErr.Store(&err)
				}
			}
			release(c)
		}
	})
	var readErr error
	for writeErr.Load() == nil {
		inFlight <- struct{}{}
		buf, err := bufs.get(ctx, false)
		if err != nil {
			<-inFlight
			readErr = err
			break
		}
		c := &chunk{buf: buf}
		c.n, readErr = io.ReadFull(src, *c.buf)
		if c.n == 0 {
			bufs.put(buf)
			<-inFlight
			break
		}
		c.refs.Store(2)
		toHash <- c
		toWrite <- c
		if readErr != nil {
			break
		}
	}
	close(toHash)
	close(toWrite)
	stages.Wait()
	if p := writeErr.Load(); p != nil {
		return written, *p
	}
	if readErr == io.EOF || readErr == io.ErrUnexpectedEOF {
		readErr = nil
	}
	return written, readErr
}
