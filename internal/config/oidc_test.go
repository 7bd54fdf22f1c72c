package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadOIDC(t *testing.T) {
	t.Parallel()
	got, err := Load(write(t, `oidc_auth:
  issuer: https://accounts.example.com
  client_id: wharf
  client_secret_file: /run/secrets/oidc
  labels: {groups: groups}
  id_tokens:
    issuer: https://token.actions.githubusercontent.com
    audiences: [wharf]
    user_claim: repository
github_auth:
  client_id: gh
  client_secret_file: /run/secrets/gh
  organization: acme
gitlab_auth:
  client_id: gl
  client_secret_file: /run/secrets/gl
  gitlab_web_uri: https://gitlab.example.com/
google_auth:
  client_id: go
  client_secret_file: /run/secrets/go
  domain: example.com
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	o := got.OIDCAuth.WithDefaults()
	want := OIDCAuth{Issuer: "https://accounts.example.com", Scopes: []string{"openid", "email", "offline_access"}, UserClaim: "email",
		Labels:   map[string]string{"groups": "groups"},
		IDTokens: &IDTokens{Issuer: "https://token.actions.githubusercontent.com", Audiences: []string{"wharf"}, UserClaim: "repository"},
		OAuthLogin: OAuthLogin{ClientID: "wharf", ClientSecretFile: "/run/secrets/oidc", HTTPTimeout: Duration(10 * time.Second),
			RevalidateAfter: Duration(time.Hour), PasswordLifetime: Duration(30 * 24 * time.Hour)}}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("oidc_auth with defaults (-want +got):\n%s", diff)
	}
	if g := got.GitLabAuth.WithDefaults(); g.GitLabWebURI != "https://gitlab.example.com" || g.GitLabAPIURI != "https://gitlab.example.com/api/v4" {
		t.Errorf("gitlab URIs: %q %q", g.GitLabWebURI, g.GitLabAPIURI)
	}
	if g := got.GitHubAuth.WithDefaults(); g.GitHubWebURI != DefaultGitHubWebURI || g.GitHubAPIURI != DefaultGitHubAPIURI {
		t.Errorf("github URIs: %q %q", g.GitHubWebURI, g.GitHubAPIURI)
	}
	if g := got.GoogleAuth.WithDefaults(); g.Issuer != DefaultGoogleIssuer {
		t.Errorf("google issuer: %q", g.Issuer)
	}
}

func TestValidateSignIns(t *testing.T) {
	t.Parallel()
	tests := []struct{ yaml, want string }{
		{"oidc_auth:\n  client_id: a\n  client_secret_file: /s\n", "oidc_auth.issuer: required"},
		{"oidc_auth:\n  issuer: ftp://x\n  client_id: a\n  client_secret_file: /s\n", "oidc_auth.issuer"},
		{"github_auth:\n  client_secret_file: /s\n", "github_auth.client_id: required"},
		{"github_auth:\n  client_id: a\n", "github_auth.client_secret_file: required"},
		{"github_auth:\n  client_id: a\n  client_secret: hunter2\n", "github_auth.client_secret: a secret does not belong in wharf.yml"},
		{"gitlab_auth:\n  client_id: a\n  client_secret_file: /s\n  redirect_url: /callback\n", "gitlab_auth.redirect_url"},
		{"google_auth:\n  client_id: a\n  client_secret_file: /s\n  domain: a@b\n", "google_auth.domain"},
		{"oidc_auth:\n  issuer: https://i\n  client_id: a\n  client_secret_file: /s\n  id_tokens: {user_claim: sub}\n", "oidc_auth.id_tokens.audiences: required"},
		{"github_auth:\n  client_id: a\n  client_secret_file: /s\n  revalidate_after: -1s\n", "github_auth.revalidate_after"},
		{"github_auth:\n  client_id: a\n  client_secret_file: /s\n  registry_url: https://r\n", "github_auth.registry_url"},
		{"auth: none\ngithub_auth:\n  client_id: a\n  client_secret_file: /s\n", "need auth: token"},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			c, err := Load(write(t, tc.yaml))
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: error %v; want %q", tc.yaml, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Error("the error shows the secret")
			}
		})
	}
	if s := fmt.Sprintf("%v %+v %#v", SecretValue("hunter2"), OAuthLogin{ClientSecret: "hunter2"}, SecretValue("hunter2")); strings.Contains(s, "hunter2") {
		t.Errorf("a secret printed: %s", s)
	}
}
