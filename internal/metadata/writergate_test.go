package metadata

import (
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestWriterGate(t *testing.T) {
	g := newWriterGate()
	if err := g.enter(t.Context()); err != nil {
		t.Fatalf("enter an open gate: %v", err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := g.enter(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("enter a held gate with a cancelled context = %v, want context.Canceled", err)
	}
	g.leave()
	if err := g.enter(cancelled); err != nil {
		t.Fatalf("enter a free gate with a cancelled context = %v, want nil (the database call checks the context)", err)
	}
	g.leave()

	var open writerGate // PostgreSQL and MySQL: no gate
	for range 3 {
		if err := open.enter(cancelled); err != nil {
			t.Fatalf("nil gate: enter = %v, want nil", err)
		}
	}
	open.leave()
}

// TestWriterGateSerializesSQLiteWrites checks that on SQLite a transaction
// holds the gate, that a single statement outside it waits for the gate
// (and gives up with its context), and that the store works on afterwards.
func TestWriterGateSerializesSQLiteWrites(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	if s.writer == nil {
		t.Fatal("SQLite store without a writer gate")
	}
	inside, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- s.inTx(ctx, func(c conn) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	if len(s.writer) != 1 {
		t.Fatalf("gate holds %d writers during a transaction, want 1", len(s.writer))
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err := s.CreateUpload(cancelled, &Upload{ID: "gate-0", Repo: "r", Algorithm: digest.SHA256})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateUpload with a cancelled context while a transaction writes = %v, want context.Canceled", err)
	}
	created := make(chan error, 1)
	go func() {
		created <- s.CreateUpload(ctx, &Upload{ID: "gate-1", Repo: "r", Algorithm: digest.SHA256})
	}()
	close(release)
	if err := <-txDone; err != nil {
		t.Fatalf("transaction: %v", err)
	}
	if err := <-created; err != nil {
		t.Fatalf("CreateUpload after the transaction: %v", err)
	}
	if _, err := s.GetUpload(ctx, "r", "gate-1"); err != nil {
		t.Fatalf("GetUpload: %v", err)
	}
	if _, err := s.GetUpload(ctx, "r", "gate-0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetUpload of the cancelled create = %v, want ErrNotFound", err)
	}
	if len(s.writer) != 0 {
		t.Fatalf("gate holds %d writers when idle, want 0", len(s.writer))
	}
}
