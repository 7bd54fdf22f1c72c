package config

import (
	"strings"
	"testing"
	"time"
)

func TestUploadLimits(t *testing.T) {
	t.Parallel()
	c, err := Load(write(t, "limits:\n  body_timeout: 5s\n  upload_idle_timeout: 90\n  uploads: 8\n  uploads_per_client: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.BodyTimeoutOrDefault() != 5*time.Second || l.UploadIdleTimeoutOrDefault() != 90*time.Second ||
		l.UploadsOrDefault() != 8 || l.UploadsPerClientOrDefault() != 2 {
		t.Errorf("configured limits read as %v %v %d %d", l.BodyTimeoutOrDefault(), l.UploadIdleTimeoutOrDefault(),
			l.UploadsOrDefault(), l.UploadsPerClientOrDefault())
	}
	var d Limits
	if d.BodyTimeoutOrDefault() != DefaultBodyTimeout || d.UploadIdleTimeoutOrDefault() != DefaultUploadIdleTimeout ||
		d.UploadsOrDefault() != DefaultUploads || d.UploadsPerClientOrDefault() != DefaultUploadsPerClient {
		t.Error("unset limits do not take their defaults")
	}

	for _, tc := range []struct {
		name   string
		limits Limits
		want   []string
	}{
		{"negative", Limits{BodyTimeout: Duration(-time.Second), UploadIdleTimeout: Duration(-time.Second), Uploads: -1, UploadsPerClient: -1},
			[]string{"limits.body_timeout", "limits.upload_idle_timeout", "limits.uploads:", "limits.uploads_per_client"}},
		{"too short", Limits{BodyTimeout: Duration(time.Millisecond), UploadIdleTimeout: Duration(500 * time.Millisecond)},
			[]string{"limits.body_timeout", "limits.upload_idle_timeout"}},
	} {
		c := Default()
		c.Limits = tc.limits
		err := c.Validate()
		for _, key := range tc.want {
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s: Validate = %v; want an error naming %s", tc.name, err, key)
			}
		}
	}
}
