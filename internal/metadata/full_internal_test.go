package metadata

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/opencontainers/go-digest"

	"wharf/internal/testserver"
)

func TestIsFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"postgres disk_full", &pgconn.PgError{Code: "53100"}, true},
		{"postgres deadlock", &pgconn.PgError{Code: "40P01"}, false},
		{"mysql table full", &mysql.MySQLError{Number: 1114}, true},
		{"mysql disk full", fmt.Errorf("exec: %w", &mysql.MySQLError{Number: 1021}), true},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213}, false},
		{"ENOSPC", fmt.Errorf("write: %w", syscall.ENOSPC), true},
		{"other", errors.New("boom"), false},
	}
	for _, tc := range tests {
		if got := isFull(tc.err); got != tc.want {
			t.Errorf("%s: isFull = %v, want %v", tc.name, got, tc.want)
		}
		if got := errors.Is(wrap("op", tc.err), ErrFull); got != tc.want {
			t.Errorf("%s: wrap is ErrFull = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// SQLite on a full disk: the write is ErrFull, nothing of it is visible,
// reads go on, and once space is freed writes succeed again.
func TestSQLiteFullDisk(t *testing.T) {
	disk := testserver.SmallDisk(t, "2m")
	ctx := t.Context()
	s, err := Open(ctx, "sqlite", filepath.Join(disk, "wharf.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddBlob(ctx, "r", digest.FromString("before"), 6); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for _, werr := f.Write(make([]byte, 64<<10)); werr == nil; _, werr = f.Write(make([]byte, 4<<10)) {
	}
	f.Close()
	var full error
	for i := range 2000 {
		// Large rows, so the WAL must grow.
		name := fmt.Sprintf("repo-%04d-%0200d", i, i)
		if full = s.AddBlob(ctx, name, digest.FromString(name), 1); full != nil {
			break
		}
	}
	if !errors.Is(full, ErrFull) {
		t.Fatalf("writes on a full disk: %v, want ErrFull", full)
	}
	t.Logf("%v", full)
	if size, err := s.BlobSize(ctx, digest.FromString("before")); err != nil || size != 6 {
		t.Errorf("read on a full disk: %d, %v", size, err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.AddBlob(ctx, "after", digest.FromString("after"), 5); err != nil {
		t.Errorf("write once space is freed: %v", err)
	}
}
