package config

import (
	"strings"
	"testing"
	"time"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yml string
		on        bool
		pulls     string
		retention time.Duration
		queue     int
		err       string
	}{
		{"defaults", "", true, "manifests", DefaultAuditRetention, DefaultAuditQueue, ""},
		{"off", "audit: {enabled: false}\n", false, "manifests", DefaultAuditRetention, DefaultAuditQueue, ""},
		{"set", "audit: {retention: 30d, pulls: all, queue: 500}\n", true, "all", 30 * 24 * time.Hour, 500, ""},
		{"retention too short", "audit: {retention: 10m}\n", true, "", 10 * time.Minute, DefaultAuditQueue, "audit.retention: must be at least an hour"},
		{"queue too large", "audit: {queue: 2000000}\n", true, "", DefaultAuditRetention, 2000000, "audit.queue: 2000000 is not between 1 and 1000000"},
		{"pulls", "audit: {pulls: yes}\n", true, "", DefaultAuditRetention, DefaultAuditQueue, `audit.pulls: "yes" is not one of manifests, all, off`},
		{"unknown key", "audit: {retension: 30d}\n", true, "", DefaultAuditRetention, DefaultAuditQueue, "retension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(write(t, tc.yml))
			if err == nil {
				err = c.Validate()
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v; want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := c.Audit
			if a.On() != tc.on || a.PullsOrDefault() != tc.pulls || a.RetentionOrDefault() != tc.retention || a.QueueOrDefault() != tc.queue {
				t.Errorf("audit = on %v, pulls %q, retention %v, queue %d; want %v, %q, %v, %d",
					a.On(), a.PullsOrDefault(), a.RetentionOrDefault(), a.QueueOrDefault(), tc.on, tc.pulls, tc.retention, tc.queue)
			}
		})
	}
}
