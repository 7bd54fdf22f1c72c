package registry

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/semaphore"
)

// copyBufferSize is the size of the buffers large request bodies are
// copied through: large enough that a blob costs few write system calls.
const copyBufferSize = 1 << 20

// smallBufferSize is the size of the buffers of bodies under it (which copy
// in one read, as the copy reads one byte past the announced size): a
// 16 KiB layer does not hold a 1 MiB buffer, so many small pushes at once
// stay small.
const smallBufferSize = 64 << 10

// bufferPool lends the buffers request bodies are copied through, within a
// budget of bytes: what copy buffers cost is bounded by how many uploads
// the server lets run at once, never by how many connections send bodies.
// Returned buffers are kept in sync.Pools, so an idle server gives them
// back to the operating system with its next collections.
type bufferPool struct {
	// budget is in bytes; nil means no bound.
	budget       *semaphore.Weighted
	large, small sync.Pool
}

// newBufferPool returns a pool for uploads uploads at once, each holding at
// most pipelineDepth buffers; uploads <= 0 means no bound.
func newBufferPool(uploads int) *bufferPool {
	p := &bufferPool{
		large: sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }},
		small: sync.Pool{New: func() any { b := make([]byte, smallBufferSize); return &b }},
	}
	if uploads > 0 {
		p.budget = semaphore.NewWeighted(int64(uploads) * pipelineDepth * copyBufferSize)
	}
	return p
}

// get returns a buffer of copyBufferSize, or of smallBufferSize when small,
// waiting while the budget is spent. It waits only when callers run more
// copies at once than the pool was sized for: the HTTP layer refuses the
// uploads past the same count before they reach the registry.
func (p *bufferPool) get(ctx context.Context, small bool) (*[]byte, error) {
	pool, size := &p.large, int64(copyBufferSize)
	if small {
		pool, size = &p.small, smallBufferSize
	}
	if p.budget != nil {
		if err := p.budget.Acquire(ctx, size); err != nil {
			return nil, fmt.Errorf("registry: waiting for a copy buffer: %w", err)
		}
	}
	return pool.Get().(*[]byte), nil
}

// put returns a buffer that get lent.
func (p *bufferPool) put(b *[]byte) {
	pool := &p.large
	if len(*b) == smallBufferSize {
		pool = &p.small
	}
	size := int64(len(*b))
	pool.Put(b)
	if p.budget != nil {
		p.budget.Release(size)
	}
}
