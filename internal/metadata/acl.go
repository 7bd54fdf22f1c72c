package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ACLRule is an ACL rule stored in the database, in docker_auth's shape.
// A nil match field matches anything; a set one, even "", must match.
type ACLRule struct {
	ID       int64
	Position int // 1 is asked first
	Account  *string
	Type     *string
	Name     *string
	Service  *string
	IP       *string
	Labels   map[string]string // nil: no label condition
	// Actions allowed when the rule matches; empty denies.
	Actions   []string
	Comment   string
	CreatedAt time.Time
}

// AddACLRule inserts r at position (1-based; 0 or past the end appends),
// moving later rules down, and returns the rule as stored. The store checks
// no patterns: the caller validates rules before storing them.
func (s *Store) AddACLRule(ctx context.Context, r ACLRule, position int) (ACLRule, error) {
	if r.Actions == nil {
		r.Actions = []string{}
	}
	actions, err := jsonText(r.Actions)
	if err != nil {
		return r, wrap("add acl rule", err)
	}
	var labels *string
	if r.Labels != nil {
		text, err := jsonText(r.Labels)
		if err != nil {
			return r, wrap("add acl rule", err)
		}
		labels = &text
	}
	now := time.Now()
	err = s.identityTx(ctx, "add acl rule", func(c conn) error {
		n, err := countRules(ctx, c)
		if err != nil {
			return err
		}
		if position <= 0 || position > n+1 {
			position = n + 1
		}
		if _, err := c.exec(ctx, `UPDATE acl_rules SET position = position + 1 WHERE position >= ?`, position); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO acl_rules
(position, match_account, match_type, match_name, match_service, match_ip, match_labels, actions, comment, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, position, r.Account, r.Type, r.Name, r.Service, r.IP, labels, actions, r.Comment, unixNano(now)); err != nil {
			return err
		}
		// The id of the row just inserted, without LastInsertId (which
		// PostgreSQL's driver lacks): the highest id at that position.
		return c.queryRow(ctx, `SELECT MAX(id) FROM acl_rules WHERE position = ?`, position).Scan(&r.ID)
	})
	r.Position, r.CreatedAt = position, now.UTC()
	return r, err
}

// DeleteACLRule removes the rule with the given id and closes the gap in
// positions; ErrNotFound if there is none.
func (s *Store) DeleteACLRule(ctx context.Context, id int64) error {
	return s.identityTx(ctx, "delete acl rule", func(c conn) error {
		pos, err := rulePosition(ctx, c, id)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM acl_rules WHERE id = ?`, id); err != nil {
			return err
		}
		_, err = c.exec(ctx, `UPDATE acl_rules SET position = position - 1 WHERE position > ?`, pos)
		return err
	})
}

// MoveACLRule moves a rule to position (1-based; past the end means last)
// and returns the position it now has. ErrNotFound if there is no such rule.
func (s *Store) MoveACLRule(ctx context.Context, id int64, position int) (int, error) {
	if position < 1 {
		return 0, fmt.Errorf("metadata: move acl rule: position %d: positions start at 1", position)
	}
	err := s.identityTx(ctx, "move acl rule", func(c conn) error {
		from, err := rulePosition(ctx, c, id)
		if err != nil {
			return err
		}
		n, err := countRules(ctx, c)
		if err != nil {
			return err
		}
		position = min(position, n)
		switch {
		case position < from:
			_, err = c.exec(ctx, `UPDATE acl_rules SET position = position + 1 WHERE position >= ? AND position < ?`, position, from)
		case position > from:
			_, err = c.exec(ctx, `UPDATE acl_rules SET position = position - 1 WHERE position > ? AND position <= ?`, from, position)
		}
		if err != nil {
			return err
		}
		_, err = c.exec(ctx, `UPDATE acl_rules SET position = ? WHERE id = ?`, position, id)
		return err
	})
	return position, err
}

// ListACLRules returns every rule in position order.
func (s *Store) ListACLRules(ctx context.Context) ([]ACLRule, error) {
	rows, err := s.read().query(ctx, `SELECT id, position, match_account, match_type, match_name, match_service, match_ip, match_labels, actions, comment, created_at
FROM acl_rules ORDER BY position, id`)
	if err != nil {
		return nil, wrap("list acl rules", err)
	}
	defer rows.Close()
	out := []ACLRule{}
	for rows.Next() {
		var (
			r       ACLRule
			labels  *string
			actions string
			created int64
		)
		if err := rows.Scan(&r.ID, &r.Position, &r.Account, &r.Type, &r.Name, &r.Service, &r.IP, &labels, &actions, &r.Comment, &created); err != nil {
			return nil, wrap("list acl rules", err)
		}
		if labels != nil {
			if err := json.Unmarshal([]byte(*labels), &r.Labels); err != nil {
				return nil, fmt.Errorf("metadata: acl rule %d: labels: %w", r.ID, err)
			}
		}
		if err := json.Unmarshal([]byte(actions), &r.Actions); err != nil {
			return nil, fmt.Errorf("metadata: acl rule %d: actions: %w", r.ID, err)
		}
		r.CreatedAt = fromUnixNano(created)
		out = append(out, r)
	}
	return out, wrap("list acl rules", rows.Err())
}

func countRules(ctx context.Context, c conn) (int, error) {
	var n int
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM acl_rules`).Scan(&n)
	return n, err
}

func rulePosition(ctx context.Context, c conn, id int64) (int, error) {
	var pos int
	err := c.queryRow(ctx, `SELECT position FROM acl_rules WHERE id = ?`, id).Scan(&pos)
	if errors.Is(notFound(err), ErrNotFound) {
		return 0, notFoundf("acl rule %d", id)
	}
	return pos, err
}
