package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// maxBody bounds a provider's API answer.
const maxBody = 4 << 20

// maxPages bounds the pages of a paginated list (100 entries each).
const maxPages = 20

// errUnauthorized is a 401 from the provider's API: the token is no good.
var errUnauthorized = errors.New("the provider refused the token (401)")

// api calls a provider's REST API with a user's access token.
type api struct {
	client *http.Client
	accept string
}

// get decodes the JSON at u into v and returns the next page's URL from
// the Link header, if any. A 404 is returned as status with no error.
func (c api) get(ctx context.Context, u, token string, v any) (status int, next string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", c.accept)
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return resp.StatusCode, "", errUnauthorized
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return resp.StatusCode, "", nil
	case resp.StatusCode != http.StatusOK:
		return resp.StatusCode, "", fmt.Errorf("GET %s: %s", redact(u), resp.Status)
	}
	if v != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v); err != nil {
			return resp.StatusCode, "", fmt.Errorf("GET %s: malformed answer: %w", redact(u), err)
		}
	}
	return resp.StatusCode, nextLink(resp.Header.Values("Link"), u), nil
}

// nextLink returns the rel="next" target of Link headers, resolved
// against base and only if it stays on base's host.
func nextLink(links []string, base string) string {
	for _, l := range links {
		for _, part := range strings.Split(l, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.Contains(params, `rel="next"`) {
				continue
			}
			target = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "<"), ">")
			b, err1 := url.Parse(base)
			n, err2 := url.Parse(target)
			if err1 != nil || err2 != nil {
				return ""
			}
			n = b.ResolveReference(n)
			if n.Host != b.Host || n.Scheme != b.Scheme {
				return ""
			}
			return n.String()
		}
	}
	return ""
}

// redact drops the query from a URL for messages.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// tokenOf converts an oauth2 token for the store.
func tokenOf(t *oauth2.Token) Token {
	return Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// OAuth2Token converts a stored token back.
func (t Token) OAuth2Token() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// refresh renews tok with its refresh token when force is set or the
// token expires within a minute. A refusal by the provider (invalid_grant
// and the like) is ErrRevoked. Without a refresh token, tok is returned as
// it is.
func refresh(ctx context.Context, cfg *oauth2.Config, client *http.Client, tok Token, force bool) (*oauth2.Token, error) {
	t := tok.OAuth2Token()
	if tok.RefreshToken == "" || (!force && (tok.Expiry.IsZero() || time.Until(tok.Expiry) > time.Minute)) {
		return t, nil
	}
	t.Expiry = time.Unix(1, 0) // expired: the token source refreshes
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	nt, err := cfg.TokenSource(ctx, t).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
			return nil, fmt.Errorf("%w: refreshing the token: %s", ErrRevoked, re.ErrorCode)
		}
		return nil, fmt.Errorf("refreshing the token: %w", err)
	}
	return nt, nil
}

// exchangeError describes a failed code exchange without the provider's
// full answer (which may echo secrets).
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Errorf("exchanging the code: %s %s %s", re.Response.Status, re.ErrorCode, clip(re.ErrorDescription))
	}
	return fmt.Errorf("exchanging the code: %w", err)
}
