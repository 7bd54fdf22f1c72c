package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wharf/internal/certs"
	"wharf/internal/config"
	"wharf/internal/datadir"
)

// healthTimeout bounds one health check: a container runtime kills a check
// that hangs, so it is better to fail with a reason first.
const healthTimeout = 3 * time.Second

// healthFlags are the flags of `wharf health`.
type healthFlags struct {
	url      string
	insecure bool
	timeout  time.Duration // healthTimeout; shorter in tests
}

func newHealth() *cobra.Command {
	f := healthFlags{timeout: healthTimeout}
	cmd := &cobra.Command{
		Use:   "health [--url URL] [--insecure]",
		Short: "Check that a running wharf answers /healthz (for HEALTHCHECK and probes)",
		Long: `Check that a running wharf answers GET /healthz with 200 OK, within 3 seconds.
Exits 0 if it does; otherwise prints one line saying why and exits 1 (a wrong
command line too: a container runtime reserves 2). It is the container image's
HEALTHCHECK, and needs no shell or curl.

Without --url it checks the local server that the same environment would
start, reading the settings as wharf serve does (WHARF_CONFIG's file, then
the WHARF_* variables): the port of addr (WHARF_ADDR, default :5000) on
127.0.0.1 (or addr's host if it names one), over

  - https, trusting <data>/tls/ca.crt, if tls: auto generated that CA
    (data is WHARF_DATA, default ./wharf-data);
  - https with the system's roots if tls is files (WHARF_TLS=files);
  - plain http if tls is off or, unless tls: auto is set, there is no
    generated CA.

With --url, an https URL also trusts <data>/tls/ca.crt when present.
--insecure skips certificate verification (the check still proves that the
server answers).`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{usageStatusKey: "1"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil)
			if err != nil {
				// One line: a container runtime shows the last line only.
				return fmt.Errorf("health: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
			}
			return f.check(cmd.Context(), cmd.OutOrStdout(), cfg)
		},
	}
	cmd.Flags().StringVar(&f.url, "url", "", "full URL to check (default: the local server, see above)")
	cmd.Flags().BoolVar(&f.insecure, "insecure", false, "do not verify the server's TLS certificate")
	return cmd
}

// check performs the request and returns a one-line error unless the server
// answered 200. cfg is the configuration resolved as wharf serve's.
func (f healthFlags) check(ctx context.Context, out io.Writer, cfg config.Config) error {
	caPath := datadir.New(cfg.Data).TLSCACert()
	target := f.url
	if target == "" {
		mode := cfg.TLS
		if cfg.Sources["tls"] == "default" {
			mode = "" // a CA in the data directory tells whether tls: auto runs
		}
		var err error
		if target, err = defaultHealthURL(cfg.Addr, cfg.Sources["addr"], mode, caPath); err != nil {
			return err
		}
	}
	tc, err := healthTLS(caPath, f.insecure)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout:   f.timeout,
		Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil, DisableKeepAlives: true},
		// A redirect (say to a login page) is not a healthy registry.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		if a := certs.AdviseTLS(err, req.URL.Host, time.Now()); a != nil {
			return fmt.Errorf("health: %s: %w (or --insecure, which checks only that it answers)", target, a)
		}
		return fmt.Errorf("health: %s: %w", target, unwrapURLError(err))
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s: %s", target, res.Status)
	}
	fmt.Fprintf(out, "%s: %s\n", target, res.Status)
	return nil
}

// defaultHealthURL is the /healthz URL of the server this environment
// configures: addr is its listen address (which from names, e.g.
// WHARF_ADDR), mode its tls setting ("" when none was given).
func defaultHealthURL(addr, from, mode, caPath string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("health: addr %q (from %s): %w", addr, from, err)
	}
	if port == "0" {
		return "", fmt.Errorf("health: addr %q (from %s) has port 0 (a random port): pass --url", addr, from)
	}
	// A wildcard listener answers on loopback; a specific address only there.
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	switch mode {
	case "off":
	case "files":
		scheme = "https"
	default: // auto, or unset (the server's default decides; a generated CA says it was auto)
		if _, err := os.Stat(caPath); err == nil {
			scheme = "https"
		} else if mode == "auto" && errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("health: tls is auto but %s does not exist yet (still starting?)", caPath)
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// healthTLS trusts the system roots plus wharf's generated CA, if any.
func healthTLS(caPath string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if insecure {
		tc.InsecureSkipVerify = true //nolint:gosec // asked for with --insecure
		return tc, nil
	}
	pem, err := os.ReadFile(caPath)
	if errors.Is(err, fs.ErrNotExist) {
		return tc, nil // system roots
	}
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("health: %s holds no PEM certificate", caPath)
	}
	tc.RootCAs = pool
	return tc, nil
}

// unwrapURLError drops net/http's `Get "URL":` prefix, already in our message.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
