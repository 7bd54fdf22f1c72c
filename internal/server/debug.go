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
// as distribution's http.debug.addr does. It has no authentication: the
// address belongs on loopback or a private network, and a warning says so
// otherwise.
func (s *Server) debugServer(ctx context.Context) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", s.cfg.DebugAddr)
	if err != nil {
		return "", nil, fmt.Errorf("server: listen on debug_addr %s: %w (is another process using the port?)", s.cfg.DebugAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 20 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	tcp := ln.Addr().(*net.TCPAddr)
	if !tcp.IP.IsLoopback() {
		s.log.Warn("debug_addr is not a loopback address: anyone who reaches it can read profiles of this process; keep it on 127.0.0.1 or a private network", "addr", tcp.String())
	}
	s.log.Info("profiles are served", "url", "http://"+tcp.String()+"/debug/pprof/")
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return tcp.String(), func() { _ = srv.Close() }, nil
}
