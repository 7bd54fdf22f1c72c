package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStorageSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		check      func(t *testing.T, st Storage)
		wantErr    []string
	}{
		{name: "filesystem by default", body: "addr: :5000\n", check: func(t *testing.T, st Storage) {
			if st.S3 != nil || !st.Delete || st.Redirect.Disable {
				t.Errorf("storage = %+v, want the filesystem with deletes and redirects on", st)
			}
		}},
		{name: "s3", body: `storage:
  s3:
    bucket: registry
    region: eu-west-1
    regionendpoint: minio.internal:9000
    secure: false
    forcepathstyle: true
    accesskey: AKIAEXAMPLE
    secretkey: wJalrXUtnFEMI
    encrypt: true
    keyid: alias/registry
    storageclass: INTELLIGENT_TIERING
    rootdirectory: /team/registry/
    chunksize: 10485760
  redirect:
    ttl: 5m
`, check: func(t *testing.T, st Storage) {
			s := st.S3
			if s == nil {
				t.Fatal("storage.s3 not read")
			}
			got := fmt.Sprint(s.Bucket, s.Region, s.Endpoint(), s.ForcePathStyle, s.Prefix(), s.Encryption(), s.KeyID, s.StorageClass, s.ChunkSize, st.Redirect.TTL.Std())
			want := fmt.Sprint("registry", "eu-west-1", "http://minio.internal:9000", true, "team/registry/", "aws:kms", "alias/registry", "INTELLIGENT_TIERING", 10<<20, 5*time.Minute)
			if got != want {
				t.Errorf("read %s, want %s", got, want)
			}
			if fmt.Sprint(s.SecretKey) != "***" || s.SecretKey.Reveal() != "wJalrXUtnFEMI" {
				t.Errorf("secretkey prints %q", fmt.Sprint(s.SecretKey))
			}
		}},
		{name: "endpoint defaults to https, encryption to AES256", body: "storage:\n  s3: {bucket: b, regionendpoint: s3.example.com, encrypt: true}\n",
			check: func(t *testing.T, st Storage) {
				if st.S3.Endpoint() != "https://s3.example.com" || st.S3.Encryption() != "AES256" || st.S3.Prefix() != "" {
					t.Errorf("endpoint %q encryption %q prefix %q", st.S3.Endpoint(), st.S3.Encryption(), st.S3.Prefix())
				}
			}},
		{name: "every problem at once", body: `storage:
  s3:
    regionendpoint: "ftp://x"
    chunksize: 1024
    keyid: k
    rootdirectory: "a b"
    storageclass: standard
    accesskey: only-the-key
    maxattempts: 99
    timeout: 10ms
    connecttimeout: 2h
    redirectendpoint: "https://s3.example.com/bucket"
  redirect:
    ttl: 8d
`, wantErr: []string{"storage.s3.bucket: required", "storage.s3.regionendpoint", "storage.s3.chunksize: 1024", "storage.s3.keyid: set, but encrypt is false",
			"storage.s3.rootdirectory", "storage.s3.storageclass", "accesskey and secretkey go together", "storage.s3.maxattempts", "storage.redirect.ttl",
			"storage.s3.timeout: 10ms", "storage.s3.connecttimeout: 2h0m0s", "storage.s3.redirectendpoint"}},
		{name: "timeouts and a public endpoint", body: "storage:\n  s3: {bucket: b, timeout: 5s, connecttimeout: 2s, redirectendpoint: \"https://s3.example.com\"}\n",
			check: func(t *testing.T, st Storage) {
				if st.S3.Timeout.Std() != 5*time.Second || st.S3.ConnectTimeout.Std() != 2*time.Second || st.S3.RedirectEndpoint != "https://s3.example.com" {
					t.Errorf("timeout %v connecttimeout %v redirectendpoint %q", st.S3.Timeout.Std(), st.S3.ConnectTimeout.Std(), st.S3.RedirectEndpoint)
				}
			}},
		{name: "unknown key", body: "storage:\n  s3:\n    bukcet: b\n", wantErr: []string{`unknown key "bukcet"`, "did you mean bucket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(write(t, tc.body))
			if err == nil {
				err = c.Validate()
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, c.Storage)
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "only-the-key") {
				t.Errorf("error quotes a credential: %q", err)
			}
		})
	}
}
