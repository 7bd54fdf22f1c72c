package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    func(*Config)
		wantErr []string // substrings that must all appear
	}{
		{name: "empty file keeps defaults", body: "", want: func(*Config) {}},
		{name: "values", body: "addr: 127.0.0.1:6000\ndata: /srv/wharf\ntls: off\nlog:\n  level: debug\n  format: json\nuploads:\n  max_age: 1h\n",
			want: func(c *Config) {
				c.Addr, c.Data, c.Log.Level, c.Log.Format, c.Uploads.MaxAge = "127.0.0.1:6000", "/srv/wharf", "debug", "json", "1h"
				c.TLS = "off"
			}},
		{name: "unknown key names its line", body: "addr: :5000\nadress: :6000\n", wantErr: []string{"line 2", "adress"}},
		{name: "unknown nested key", body: "log:\n  levle: debug\n", wantErr: []string{"line 2", "levle"}},
		{name: "wrong type", body: "log: verbose\n", wantErr: []string{"line 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(write(t, tc.body))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Load succeeded, want error containing %q", tc.wantErr)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yml") {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	c := Config{Auth: "magic", TLS: "magic", TrustedProxies: []string{"10.0.0.0/33"}, Log: Log{Level: "loud", Format: "xml"}, Uploads: Uploads{MaxAge: "-1h"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid config")
	}
	for _, key := range []string{"addr:", "data:", "auth:", "tls:", "trusted_proxies[0]:", "log.level:", "log.format:", "uploads.max_age:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Validate error does not name %s:\n%v", key, err)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}
