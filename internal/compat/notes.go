package compat

import "log/slog"

// Notes holds log records until a load succeeds: what wharf does with
// accepted keys is noise next to the errors of a config that does not load.
type Notes struct{ recs []func(*slog.Logger) }

// Info records an info message.
func (n *Notes) Info(msg string, args ...any) {
	n.recs = append(n.recs, func(l *slog.Logger) { l.Info(msg, args...) })
}

// Warn records a warning.
func (n *Notes) Warn(msg string, args ...any) {
	n.recs = append(n.recs, func(l *slog.Logger) { l.Warn(msg, args...) })
}

// Flush logs the records to l.
func (n *Notes) Flush(l *slog.Logger) {
	for _, r := range n.recs {
		r(l)
	}
}
