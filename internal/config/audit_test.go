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
		fold      time.Duration
	}{
		{"defaults", "", true, "manifests", DefaultAuditRetention, DefaultAuditQueue, "", time.Minute},
		{"off", "audit: {enabled: false}\n", false, "manifests", DefaultAuditRetention, DefaultAuditQueue, "", time.Minute},
		{"set", "audit: {retention: 30d, pulls: all, queue: 500, fold: 5m}\n", true, "all", 30 * 24 * time.Hour, 500, "", 5 * time.Minute},
		{"fold too long", "audit: {fold: 2h}\n", true, "", DefaultAuditRetention, DefaultAuditQueue, "audit.fold: 2h0m0s is not between 1s and 1h", 0},
		{"fold too short", "audit: {fold: 10ms}\n", true, "", DefaultAuditRetention, DefaultAuditQueue, "audit.fold: 10ms is not between 1s and 1h", 0},
		{"retention too short", "audit: {retention: 10m}\n", true, "", 10 * time.Minute, DefaultAuditQueue, "audit.retention: must be at least an hour", 0},
		{"queue too large", "audit: {queue: 2000000}\n", true, "", DefaultAuditRetention, 2000000, "audit.queue: 2000000 is not between 1 and 1000000", 0},
		{"pulls", "audit: {pulls: yes}\n", true, "", DefaultAuditRetention, DefaultAuditQueue, `audit.pulls: "yes" is not one of manifests, all, off`, 0},
		{"unknown key", "audit: {retension: 30d}\n", true, "", DefaultAuditRetention, DefaultAuditQueue, "retension", 0},
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
			if a.On() != tc.on || a.PullsOrDefault() != tc.pulls || a.RetentionOrDefault() != tc.retention || a.QueueOrDefault() != tc.queue ||
				a.FoldOrDefault() != tc.fold {
				t.Errorf("audit = on %v, pulls %q, retention %v, queue %d, fold %v; want %v, %q, %v, %d, %v",
					a.On(), a.PullsOrDefault(), a.RetentionOrDefault(), a.QueueOrDefault(), a.FoldOrDefault(), tc.on, tc.pulls, tc.retention, tc.queue, tc.fold)
			}
		})
	}
}
