package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/spf13/cobra"

	"wharf/internal/config"
	"wharf/internal/config/resolve"
)

// resolveConfig is how every command reads its configuration: the flags
// named here that the user gave, the environment and the file, merged by
// resolve for role and validated once. notes receives the foreign readers'
// remarks (wharf registry, wharf auth); nil discards them.
func resolveConfig(cmd *cobra.Command, role string, notes io.Writer, flags ...string) (config.Config, error) {
	given := map[string]string{}
	for _, name := range flags {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			given[name] = f.Value.String()
		}
	}
	return resolveGiven(role, given, notes)
}

// resolveGiven is resolveConfig with the flags already picked, by the name
// resolve knows them by.
//
// The readers' remarks are held until the configuration is known, then
// written with its log.format and log.level: a collector reading JSON
// gets no text line first.
func resolveGiven(role string, given map[string]string, notes io.Writer) (config.Config, error) {
	in := resolve.Input{Role: role, Flags: given, Environ: os.Environ()}
	held := &heldRecords{}
	if notes != nil {
		in.Log = slog.New(&holdHandler{held: held})
	}
	cfg, err := resolve.Config(in)
	if notes != nil {
		logCfg := config.Log{Level: "info", Format: "text"}
		if err == nil {
			logCfg = cfg.Log
		}
		held.replay(newLogger(notes, logCfg).Handler())
	}
	return cfg, err
}

// heldRecords are log records kept for later, each with the handler
// derivations (WithAttrs, WithGroup) of the logger that made it.
type heldRecords struct {
	mu   sync.Mutex
	recs []heldRecord
}

type heldRecord struct {
	rec    slog.Record
	derive []func(slog.Handler) slog.Handler
}

// replay hands the held records to h, as h's level allows.
func (hr *heldRecords) replay(h slog.Handler) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	for _, r := range hr.recs {
		target := h
		for _, d := range r.derive {
			target = d(target)
		}
		if target.Enabled(context.Background(), r.rec.Level) {
			_ = target.Handle(context.Background(), r.rec)
		}
	}
}

// holdHandler is a slog.Handler that keeps every record in held.
type holdHandler struct {
	held   *heldRecords
	derive []func(slog.Handler) slog.Handler
}

func (h *holdHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *holdHandler) Handle(_ context.Context, r slog.Record) error {
	h.held.mu.Lock()
	defer h.held.mu.Unlock()
	h.held.recs = append(h.held.recs, heldRecord{rec: r.Clone(), derive: h.derive})
	return nil
}

func (h *holdHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(func(t slog.Handler) slog.Handler { return t.WithAttrs(attrs) })
}

func (h *holdHandler) WithGroup(name string) slog.Handler {
	return h.with(func(t slog.Handler) slog.Handler { return t.WithGroup(name) })
}

func (h *holdHandler) with(d func(slog.Handler) slog.Handler) slog.Handler {
	return &holdHandler{held: h.held, derive: append(slices.Clip(h.derive), d)}
}
