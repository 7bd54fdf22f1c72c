package dockerauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

// signInAuth has the four sign-in sections as docker_auth's reference
// configuration and README write them, and no users map.
const signInAuth = `server:
  addr: ":5001"
  certificate: /ssl/auth.crt
  key: /ssl/auth.key
token:
  issuer: "Acme auth server"
  expiration: 900
google_auth:
  domain: "example.com"
  client_id: "1223123456-somethingsomething.apps.googleusercontent.com"
  client_secret_file: "/path/to/client_secret.txt"
  token_db: "/somewhere/to/put/google_tokens.ldb"
  http_timeout: 10
github_auth:
  organization: "acme"
  client_id: "1223123456"
  client_secret: "verysecret"
  level_token_db:
    path: /data/tokens.db
    token_hash_cost: 5
  http_timeout: "10s"
  revalidate_after: "1h"
  github_web_uri: "https://github.acme.com"
  github_api_uri: "https://github.acme.com/api/v3"
  registry_url: localhost:5000
oidc_auth:
  issuer: "https://accounts.example.com"
  redirect_url: "https://auth.example.com:5001/oidc_auth"
  client_id: "registry"
  client_secret_file: /run/secrets/oidc
  level_token_db:
    path: /data/oidc-tokens.db
  user_claim: preferred_username
  labels_claims: [groups]
  scopes: [openid, profile, groups]
  registry_url: registry.example.com
gitlab_auth:
  organization: "acme"
  client_id: "gl"
  client_secret_file: /run/secrets/gitlab
  level_token_db:
    path: /data/gitlab-tokens.db
  revalidate_after: "30m"
  gitlab_web_uri: "https://gitlab.acme.com"
  gitlab_api_uri: "https://gitlab.acme.com/api/v4"
  grant_type: authorization_code
  redirect_uri: "https://auth.example.com:5001/gitlab_auth"
acl:
  - match: {account: "/.+/", labels: {groups: admins}}
    actions: ["*"]
`

func TestLoadSignIns(t *testing.T) {
	t.Parallel()
	got, err := Load(writeConfig(t, signInAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("the translated configuration does not validate: %v", err)
	}
	wantGoogle := &config.GoogleAuth{Domain: "example.com", OAuthLogin: config.OAuthLogin{
		ClientID: "1223123456-somethingsomething.apps.googleusercontent.com", ClientSecretFile: "/path/to/client_secret.txt",
		HTTPTimeout: config.Duration(10 * time.Second)}}
	wantGitHub := &config.GitHubAuth{Organization: "acme", GitHubWebURI: "https://github.acme.com", GitHubAPIURI: "https://github.acme.com/api/v3",
		OAuthLogin: config.OAuthLogin{ClientID: "1223123456", ClientSecret: "verysecret", HTTPTimeout: config.Duration(10 * time.Second),
			RevalidateAfter: config.Duration(time.Hour), RegistryURL: "localhost:5000"}}
	wantOIDC := &config.OIDCAuth{Issuer: "https://accounts.example.com", UserClaim: "preferred_username",
		LabelsClaims: []string{"groups"}, Scopes: []string{"openid", "profile", "groups"},
		OAuthLogin: config.OAuthLogin{ClientID: "registry", ClientSecretFile: "/run/secrets/oidc",
			RedirectURL: "https://auth.example.com:5001/oidc_auth", RegistryURL: "registry.example.com"}}
	wantGitLab := &config.GitLabAuth{Organization: "acme", GitLabWebURI: "https://gitlab.acme.com", GitLabAPIURI: "https://gitlab.acme.com/api/v4",
		OAuthLogin: config.OAuthLogin{ClientID: "gl", ClientSecretFile: "/run/secrets/gitlab", RevalidateAfter: config.Duration(30 * time.Minute),
			RedirectURL: "https://auth.example.com:5001/gitlab_auth"}}
	for name, d := range map[string]string{
		"google_auth": cmp.Diff(wantGoogle, got.GoogleAuth),
		"github_auth": cmp.Diff(wantGitHub, got.GitHubAuth),
		"oidc_auth":   cmp.Diff(wantOIDC, got.OIDCAuth),
		"gitlab_auth": cmp.Diff(wantGitLab, got.GitLabAuth),
	} {
		if d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
}

func TestLoadSignInsRefuses(t *testing.T) {
	t.Parallel()
	base := "server:\n  addr: \":5001\"\n  certificate: /c\n  key: /k\ntoken:\n  issuer: x\n  expiration: 900\nacl: []\n"
	tests := []struct {
		name, section, want string
		sentinel            error
	}{
		{"gcs", "github_auth:\n  client_id: a\n  client_secret_file: /s\n  gcs_token_db:\n    bucket: b\n    client_secret_file: /x\n",
			"github_auth.gcs_token_db", ErrNotSupported},
		{"redis", "oidc_auth:\n  issuer: https://i\n  redirect_url: https://a/oidc_auth\n  client_id: a\n  client_secret_file: /s\n  redis_token_db:\n    redis_options:\n      addr: localhost:6379\n",
			"oidc_auth.redis_token_db", ErrNotSupported},
		{"token_store", "google_auth:\n  client_id: a\n  client_secret_file: /s\n  token_store:\n    leveldb: {}\n", "google_auth.token_store", ErrNotSupported},
		{"typo", "github_auth:\n  client_id: a\n  client_secret_file: /s\n  organisation: acme\n", "github_auth.organisation", ErrUnknownKey},
		{"level key", "gitlab_auth:\n  client_id: a\n  client_secret_file: /s\n  redirect_uri: https://a/gitlab_auth\n  level_token_db:\n    pth: /x\n",
			"gitlab_auth.level_token_db.pth", ErrUnknownKey},
		{"grant", "gitlab_auth:\n  client_id: a\n  client_secret_file: /s\n  grant_type: password\n", "gitlab_auth.grant_type", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, base+tc.section), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error %v; want one naming %s and its line", err, tc.want)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %v is not %v", err, tc.sentinel)
			}
		})
	}
}

func TestLoadSignInsNeedTheirKeys(t *testing.T) {
	t.Parallel()
	cfg := "server:\n  addr: \":5001\"\n  certificate: /c\n  key: /k\ntoken:\n  issuer: x\n  expiration: 900\nacl: []\noidc_auth:\n  issuer: https://i\n  client_id: a\n"
	c, err := Load(writeConfig(t, cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, key := range []string{"oidc_auth.redirect_url", "oidc_auth.client_secret_file"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate: %v; want an error naming %s", err, key)
		}
	}
}
