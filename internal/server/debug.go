package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// debugServer serves Go's runtime profiles (net/http/pprof) on debug_addr,
// as distribution's http.debug.addr does, and /metrics when metrics are
// enabled (distribution's debug.prometheus). It has no authentication:
// the address belongs on loopback or a private network, and a warning
// says so otherwise.
func (s *Server) debugServer(ctx context.Context) (addr string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.Handler())
	}
	return s.sideServer(ctx, sideListener{key: "debug_addr", addr: s.cfg.DebugAddr, what: "profiles", path: "/debug/pprof/",
		warn: "debug_addr is not a loopback address: anyone who reaches it can read profiles of this process; keep it on 127.0.0.1 or a private network"}, mux)
}

// sideListener is an address of its own that serves operators' tools
// without authentication.
type sideListener struct {
	key, addr  string // the configuration key and its value
	what, path string // what is served where, for the start line
	warn       string // logged when the address is not loopback
}

// sideServer serves mux on l's address until ctx ends or stop is called.
func (s *Server) sideServer(ctx context.Context, l sideListener, mux *http.ServeMux) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return "", nil, fmt.Errorf("server: listen on %s %s: %w (is another process using the port?)", l.key, l.addr, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 20 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	tcp := ln.Addr().(*net.TCPAddr)
	if !tcp.IP.IsLoopback() {
		s.log.Warn(l.warn, "addr", tcp.String())
	}
	s.log.Info(l.what+" are served", "url", "http://"+tcp.String()+l.path)
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return tcp.String(), func() { _ = srv.Close() }, nil
}
