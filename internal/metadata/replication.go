package metadata

import (
	"context"
	"time"
)

// ReplicationRule is a replication rule's record: what it copied and
// failed to copy since it first ran, and its last attempt.
type ReplicationRule struct {
	Rule               string
	Copied, Failed     int64
	LastStart, LastEnd time.Time
	// LastError is the last attempt's failure, "" after a success.
	LastError string
}

// maxReplicationError bounds a stored error message.
const maxReplicationError = 1000

// RecordReplication adds one attempt of rule, started at start and ended
// now, that copied copied references and failed failed: lastErr "" clears
// the rule's last error.
func (s *Store) RecordReplication(ctx context.Context, rule string, start time.Time, copied, failed int64, lastErr string) error {
	if err := checkKey("replication rule", rule); err != nil {
		return wrap("record replication", err)
	}
	if len(lastErr) > maxReplicationError {
		lastErr = lastErr[:maxReplicationError]
	}
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, c.d.insertIgnore("replication_rules", "rule", "rule"), rule); err != nil {
			return err
		}
		_, err := c.exec(ctx, `UPDATE replication_rules SET copied = copied + ?, failed = failed + ?, last_start = ?, last_end = ?, last_error = ? WHERE rule = ?`,
			copied, failed, unixNano(start), unixNano(time.Now()), lastErr, rule)
		return err
	})
	return wrap("record replication", err)
}

// ReplicationRules returns every rule's record, by name.
func (s *Store) ReplicationRules(ctx context.Context) ([]ReplicationRule, error) {
	rows, err := s.read().query(ctx, `SELECT rule, copied, failed, last_start, last_end, last_error FROM replication_rules ORDER BY rule`)
	if err != nil {
		return nil, wrap("replication rules", err)
	}
	defer rows.Close()
	var out []ReplicationRule
	for rows.Next() {
		var (
			r          ReplicationRule
			start, end int64
		)
		if err := rows.Scan(&r.Rule, &r.Copied, &r.Failed, &start, &end, &r.LastError); err != nil {
			return nil, wrap("replication rules", err)
		}
		r.LastStart, r.LastEnd = timeOrZero(start), timeOrZero(end)
		out = append(out, r)
	}
	return out, wrap("replication rules", rows.Err())
}
