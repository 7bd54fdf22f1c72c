package external

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wharf/internal/auth"
)

// WebhookConfig configures a webhook endpoint.
type WebhookConfig struct {
	// URL is the endpoint wharf POSTs to.
	URL string
	// Timeout bounds one call, connection included.
	Timeout time.Duration
	// CACertificates is a PEM bundle to trust for the endpoint's HTTPS
	// certificate; empty means the system roots.
	CACertificates []byte
	// SecretHeader, when set, is sent with the value Secret.
	SecretHeader string
	Secret       auth.Secret
	// MaxResponse bounds the answer's body in bytes.
	MaxResponse int64
	// Log hears about decisions (debug) and insecure set-ups (nil
	// discards).
	Log *slog.Logger
}

// webhookClient posts JSON and decodes JSON answers.
type webhookClient struct {
	name   string // "webhook_auth" or "webhook_authz", for messages
	url    string
	shown  string // the URL without its query, for messages
	http   *http.Client
	header string
	secret auth.Secret
	max    int64
	log    *slog.Logger
}

func newWebhookClient(name string, cfg WebhookConfig) (*webhookClient, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s: url %q is not an http(s) URL", name, cfg.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: url: credentials in the URL would be logged; use a secret header", name)
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("%s: the timeout must be positive", name)
	}
	if cfg.MaxResponse <= 0 {
		return nil, fmt.Errorf("%s: the response size bound must be positive", name)
	}
	if (cfg.SecretHeader == "") != (cfg.Secret == "") {
		return nil, fmt.Errorf("%s: a secret header needs both a name and a value", name)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cfg.CACertificates) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CACertificates) {
			return nil, fmt.Errorf("%s: ca_certificate holds no PEM certificate", name)
		}
		tlsConfig.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.MaxResponseHeaderBytes = 64 << 10
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	return &webhookClient{
		name:  name,
		url:   cfg.URL,
		shown: shown,
		http: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirect would carry the password elsewhere: refuse it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		header: cfg.SecretHeader,
		secret: cfg.Secret,
		max:    cfg.MaxResponse,
		log:    log.With("component", webhookComponent(name), "backend", name, "url", shown),
	}, nil
}

// webhookComponent names the log component of a webhook, as authn's and
// authz's other backends do.
func webhookComponent(name string) string {
	if name == "webhook_authz" {
		return "authz"
	}
	return "authn"
}

// insecure reports whether the endpoint is plain HTTP to a host other than
// the loopback interface.
func (c *webhookClient) insecure() bool {
	u, _ := url.Parse(c.url)
	if u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	return h != "localhost" && !strings.HasPrefix(h, "127.") && h != "::1"
}

// post sends in as JSON and decodes the answer into out, strictly. hidden
// (a password) is masked in any excerpt of the answer an error quotes.
func (c *webhookClient) post(ctx context.Context, in, out any, hidden string) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.http.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wharf")
	if c.header != "" {
		req.Header.Set(c.header, c.secret.Reveal())
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL with its query
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("%s: POST %s: no answer within %s", c.name, c.shown, c.http.Timeout)
		}
		return fmt.Errorf("%s: POST %s: %w", c.name, c.shown, err)
	}
	defer res.Body.Close()
	if res.ContentLength > c.max {
		return fmt.Errorf("%s: POST %s: the answer (%d bytes) is larger than max_response_size %d", c.name, c.shown, res.ContentLength, c.max)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, c.max+1))
	if err != nil {
		return fmt.Errorf("%s: POST %s: reading the answer: %w", c.name, c.shown, err)
	}
	if int64(len(b)) > c.max {
		return fmt.Errorf("%s: POST %s: the answer is larger than max_response_size %d", c.name, c.shown, c.max)
	}
	if res.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("%s: POST %s: status %d, want 200", c.name, c.shown, res.StatusCode)
		if loc := res.Header.Get("Location"); loc != "" {
			msg += " (redirects are not followed)"
		}
		if s := excerpt(b, 200, hidden, c.secret.Reveal()); s != "" {
			msg += fmt.Sprintf("; body: %q", s)
		}
		return errors.New(msg)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s: POST %s: the answer is not the expected JSON: %v", c.name, c.shown, err)
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) != 0 {
		return fmt.Errorf("%s: POST %s: the answer has data after its JSON object", c.name, c.shown)
	}
	return nil
}

// Results of both webhook protocols.
const (
	resultAllow   = "allow"
	resultDeny    = "deny"
	resultNoMatch = "no_match"
)
