package dockerauth

import (
	"gopkg.in/yaml.v3"

	"wharf/internal/config"
	"wharf/internal/yamlnode"
)

// Keys every sign-in section takes: docker_auth's client, token database
// and timeout keys, then Wharf's additions.
var (
	oauthCommonKeys = []string{"client_id", "client_secret", "client_secret_file", "token_db", "level_token_db",
		"gcs_token_db", "redis_token_db", "http_timeout", "registry_url",
		"revalidate_after", "password_lifetime"}
	oidcKeys   = append([]string{"issuer", "redirect_url", "user_claim", "labels_claims", "scopes", "labels", "id_tokens"}, oauthCommonKeys...)
	githubKeys = append([]string{"organization", "github_web_uri", "github_api_uri", "redirect_url"}, oauthCommonKeys...)
	gitlabKeys = append([]string{"organization", "gitlab_web_uri", "gitlab_api_uri", "grant_type", "redirect_uri"}, oauthCommonKeys...)
	googleKeys = append([]string{"domain", "token_store", "redirect_url", "issuer"}, oauthCommonKeys...)
)

// signIns translates google_auth, github_auth, oidc_auth and gitlab_auth.
// Values are checked by config.Validate (the caller runs it).
func (l *loader) signIns(top *section, c *config.Config) {
	if s := l.signIn(top, "oidc_auth", oidcKeys); s != nil {
		o := &config.OIDCAuth{Issuer: s.str("issuer"), OAuthLogin: l.oauthCommon(s), UserClaim: s.str("user_claim"),
			Scopes: l.stringOrList(s, "scopes"), LabelsClaims: l.stringOrList(s, "labels_claims")}
		o.RedirectURL = s.str("redirect_url")
		if v := s.value("labels"); v != nil {
			if err := v.Decode(&o.Labels); err != nil {
				l.errorf(v, "oidc_auth.labels: must be a mapping of label name to claim name")
			}
		}
		if v := s.value("id_tokens"); v != nil {
			t := l.section(s.keys["id_tokens"], v, "oidc_auth.id_tokens", "issuer", "audiences", "user_claim")
			o.IDTokens = &config.IDTokens{Issuer: t.str("issuer"), Audiences: l.stringOrList(t, "audiences"), UserClaim: t.str("user_claim")}
		}
		c.OIDCAuth = o
	}
	if s := l.signIn(top, "github_auth", githubKeys); s != nil {
		g := &config.GitHubAuth{OAuthLogin: l.oauthCommon(s), Organization: s.str("organization"),
			GitHubWebURI: s.str("github_web_uri"), GitHubAPIURI: s.str("github_api_uri")}
		g.RedirectURL = s.str("redirect_url")
		c.GitHubAuth = g
	}
	if s := l.signIn(top, "gitlab_auth", gitlabKeys); s != nil {
		g := &config.GitLabAuth{OAuthLogin: l.oauthCommon(s), Organization: s.str("organization"),
			GitLabWebURI: s.str("gitlab_web_uri"), GitLabAPIURI: s.str("gitlab_api_uri")}
		g.RedirectURL = s.str("redirect_uri")
		if gt := s.str("grant_type"); gt != "" && gt != "authorization_code" {
			l.errorf(s.where("grant_type"), "gitlab_auth.grant_type: %q: the browser sign-in uses authorization_code", gt)
		}
		c.GitLabAuth = g
	}
	if s := l.signIn(top, "google_auth", googleKeys); s != nil {
		g := &config.GoogleAuth{OAuthLogin: l.oauthCommon(s), Domain: s.str("domain"), Issuer: s.str("issuer")}
		g.RedirectURL = s.str("redirect_url")
		if s.value("token_store") != nil {
			l.errorf(s.where("token_store"), "%w: google_auth.token_store (wharf keeps sign-ins in its data directory; remove the key)", ErrNotSupported)
		}
		c.GoogleAuth = g
	}
}

// signIn opens a sign-in section, or returns nil when it is absent.
func (l *loader) signIn(top *section, name string, keys []string) *section {
	if yamlnode.IsNull(yamlnode.Resolve(top.vals[name])) {
		return nil
	}
	return l.section(top.keys[name], top.vals[name], name, keys...)
}

// oauthCommon reads the keys every sign-in section has.
func (l *loader) oauthCommon(s *section) config.OAuthLogin {
	o := config.OAuthLogin{ClientID: s.str("client_id"), ClientSecretFile: s.str("client_secret_file"),
		ClientSecret: config.SecretValue(s.str("client_secret")), RegistryURL: s.str("registry_url")}
	for _, d := range []struct {
		key string
		to  *config.Duration
	}{{"http_timeout", &o.HTTPTimeout}, {"revalidate_after", &o.RevalidateAfter}, {"password_lifetime", &o.PasswordLifetime}} {
		if v := s.value(d.key); v != nil {
			if err := v.Decode(d.to); err != nil {
				l.errorf(v, "%s: %s", s.full(d.key), decodeMessage(err))
			}
		}
	}
	for _, k := range []string{"gcs_token_db", "redis_token_db"} {
		if s.value(k) != nil {
			l.errorf(s.where(k), "%w: %s (wharf keeps sign-ins in its metadata database, shared by its replicas; remove the key)", ErrNotSupported, s.full(k))
		}
	}
	switch {
	case s.value("level_token_db") != nil:
		db := l.section(s.keys["level_token_db"], s.vals["level_token_db"], s.full("level_token_db"), "path", "token_hash_cost")
		if cost, ok := db.integer("token_hash_cost"); ok && cost < 0 {
			l.errorf(db.where("token_hash_cost"), "%s: must not be negative", db.full("token_hash_cost"))
		}
		l.log.Info(s.full("level_token_db")+" accepted; wharf keeps sign-ins in its metadata database (SHA-256 of 256-bit passwords; token_hash_cost has no use), so users sign in once more",
			"path", db.str("path"), "source", line(s.where("level_token_db")))
	case s.value("token_db") != nil:
		l.log.Info(s.full("token_db")+" accepted; wharf keeps sign-ins in its metadata database, so users sign in once more",
			"path", s.str("token_db"), "source", line(s.where("token_db")))
	}
	return o
}

// stringOrList reads a list of strings (or one string) at key.
func (l *loader) stringOrList(s *section, key string) []string {
	v := s.value(key)
	if v == nil {
		return nil
	}
	var out []string
	if v.Kind == yaml.ScalarNode {
		return []string{v.Value}
	}
	if err := v.Decode(&out); err != nil {
		l.errorf(v, "%s: must be a list of names", s.full(key))
	}
	return out
}
