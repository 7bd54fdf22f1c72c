package tracing

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// otlpEnv is what the standard OTEL_EXPORTER_OTLP_* variables say about
// the traces exporter: the subset a registry's operators use (a private
// CA, a client certificate, compression, headers, a timeout). Each
// OTEL_EXPORTER_OTLP_TRACES_X wins over OTEL_EXPORTER_OTLP_X, as the
// specification says; wharf.yml's headers win over both.
type otlpEnv struct {
	tls     *tls.Config
	gzip    bool
	headers map[string]string
	timeout time.Duration
}

// readOTLPEnv reads the variables through getenv.
func readOTLPEnv(getenv func(string) string) (otlpEnv, error) {
	get := func(name string) (string, string) {
		if v := getenv("OTEL_EXPORTER_OTLP_TRACES_" + name); v != "" {
			return v, "OTEL_EXPORTER_OTLP_TRACES_" + name
		}
		return getenv("OTEL_EXPORTER_OTLP_" + name), "OTEL_EXPORTER_OTLP_" + name
	}
	var e otlpEnv
	if v, from := get("COMPRESSION"); v != "" {
		switch v {
		case "gzip":
			e.gzip = true
		case "none":
		default:
			return e, fmt.Errorf("tracing: %s=%q: use gzip or none", from, v)
		}
	}
	if v, from := get("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return e, fmt.Errorf("tracing: %s=%q is not a positive number of milliseconds", from, v)
		}
		e.timeout = time.Duration(ms) * time.Millisecond
	}
	if v, from := get("HEADERS"); v != "" {
		e.headers = map[string]string{}
		for pair := range strings.SplitSeq(v, ",") {
			k, val, ok := strings.Cut(pair, "=")
			key, kerr := url.PathUnescape(strings.TrimSpace(k))
			value, verr := url.PathUnescape(strings.TrimSpace(val))
			if !ok || key == "" || kerr != nil || verr != nil {
				// Never quoted: a header value is usually a secret.
				return e, fmt.Errorf("tracing: %s is not a list of key=value pairs separated by commas", from)
			}
			e.headers[key] = value
		}
	}
	ca, caFrom := get("CERTIFICATE")
	cert, certFrom := get("CLIENT_CERTIFICATE")
	key, keyFrom := get("CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return e, nil
	}
	e.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return e, fmt.Errorf("tracing: %s: %w", caFrom, err)
		}
		e.tls.RootCAs = x509.NewCertPool()
		if !e.tls.RootCAs.AppendCertsFromPEM(pem) {
			return e, fmt.Errorf("tracing: %s: %s holds no PEM certificate", caFrom, ca)
		}
	}
	if (cert == "") != (key == "") {
		return e, fmt.Errorf("tracing: %s and %s go together; set both or neither", certFrom, keyFrom)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return e, fmt.Errorf("tracing: %s and %s: %w", certFrom, keyFrom, err)
		}
		e.tls.Certificates = []tls.Certificate{pair}
	}
	return e, nil
}

// transport is the exporter's transport: the default one, with the
// variables' TLS settings when they give some.
func (e otlpEnv) transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if e.tls != nil {
		t.TLSClientConfig = e.tls
	}
	return t
}
