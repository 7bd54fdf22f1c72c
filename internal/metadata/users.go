package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// User is a user account stored in the database: a person with a bcrypt
// password, or a robot account (no password) that logs in with its access
// tokens only.
type User struct {
	Name string
	// PasswordHash is a bcrypt hash; "" for a robot account.
	PasswordHash string
	Robot        bool
	Disabled     bool
	Labels       map[string][]string
	// Teams the user belongs to, in byte order (read only).
	Teams     []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CreateUser stores a new user; ErrExists if the name is taken. The store
// checks only that the name is not empty: validating names and hashes is
// the caller's job.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	if u.Name == "" {
		return errors.New("metadata: create user: empty name")
	}
	labels, err := jsonText(nonNilLabels(u.Labels))
	if err != nil {
		return wrap("create user", err)
	}
	now := unixNano(time.Now())
	return s.identityTx(ctx, "create user", func(c conn) error {
		if _, err := userID(ctx, c, u.Name); err == nil {
			return existsf("user %q", u.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO users (name, password_hash, robot, disabled, labels, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Name, u.PasswordHash, boolInt(u.Robot), boolInt(u.Disabled), labels, now, now)
		return err
	})
}

// GetUser returns one user with its teams, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, name string) (*User, error) {
	users, err := s.listUsers(ctx, userQuery{name: name})
	if err != nil {
		return nil, wrapIdentity("get user", err)
	}
	if len(users) == 0 {
		return nil, notFoundf("user %q", name)
	}
	return &users[0], nil
}

// ListUsers returns every user with its teams, in byte order of names.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	users, err := s.listUsers(ctx, userQuery{})
	return users, wrapIdentity("list users", err)
}

// ListUsersAfter returns, with their teams, at most n users (n <= 0: all)
// whose names follow after in byte order, in that order: a page of a
// listing, the next one after the last name returned.
func (s *Store) ListUsersAfter(ctx context.Context, after string, n int) ([]User, error) {
	users, err := s.listUsers(ctx, userQuery{after: after, paged: true, n: n})
	return users, wrapIdentity("list users", err)
}

// userQuery is which users listUsers reads: the one named name, or with
// paged those after after (at most n), or all.
type userQuery struct {
	name, after string
	paged       bool
	n           int
}

// listUsers reads the users q names, and their teams.
func (s *Store) listUsers(ctx context.Context, q userQuery) ([]User, error) {
	c := s.read()
	query := `SELECT id, name, password_hash, robot, disabled, labels, created_at, updated_at FROM users`
	var args []any
	switch {
	case q.name != "":
		query += ` WHERE name = ?`
		args = append(args, q.name)
	case q.paged:
		query += ` WHERE name > ? ORDER BY name LIMIT ?`
		args = append(args, q.after, limit(q.n))
	}
	if !q.paged {
		query += ` ORDER BY name`
	}
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	byID := map[int64]int{}
	for rows.Next() {
		var (
			u                User
			id, robot, disab int64
			labels           string
			created, updated int64
		)
		if err := rows.Scan(&id, &u.Name, &u.PasswordHash, &robot, &disab, &labels, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(labels), &u.Labels); err != nil {
			return nil, fmt.Errorf("user %q: labels: %w", u.Name, err)
		}
		if len(u.Labels) == 0 {
			u.Labels = nil
		}
		u.Robot, u.Disabled = robot != 0, disab != 0
		u.CreatedAt, u.UpdatedAt = fromUnixNano(created), fromUnixNano(updated)
		byID[id] = len(out)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	// The teams of the users read: a page's, those whose names lie
	// between its first and last.
	teams, targs := `SELECT m.user_id, t.name FROM team_members m JOIN teams t ON t.id = m.team_id`, []any(nil)
	if q.paged || q.name != "" {
		teams += ` JOIN users u ON u.id = m.user_id WHERE u.name >= ? AND u.name <= ?`
		targs = []any{out[0].Name, out[len(out)-1].Name}
	}
	rows, err = c.query(ctx, teams+` ORDER BY t.name`, targs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var team string
		if err := rows.Scan(&id, &team); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			out[i].Teams = append(out[i].Teams, team)
		}
	}
	return out, rows.Err()
}

// SetUserPassword replaces a user's password hash and revokes the user's
// refresh tokens: whoever logged in with the old password must log in
// again. ErrNotFound if there is no such user.
func (s *Store) SetUserPassword(ctx context.Context, name, hash string) error {
	return s.updateUser(ctx, "set user password", name, "password_hash = ?", true, hash)
}

// SetUserDisabled disables or enables a user. Disabling also revokes the
// user's refresh tokens.
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return s.updateUser(ctx, "set user disabled", name, "disabled = ?", disabled, boolInt(disabled))
}

// SetUserLabels replaces a user's labels.
func (s *Store) SetUserLabels(ctx context.Context, name string, labels map[string][]string) error {
	text, err := jsonText(nonNilLabels(labels))
	if err != nil {
		return wrap("set user labels", err)
	}
	return s.updateUser(ctx, "set user labels", name, "labels = ?", false, text)
}

func (s *Store) updateUser(ctx context.Context, op, name, set string, revoke bool, value any) error {
	now := time.Now()
	return s.identityTx(ctx, op, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE users SET `+set+`, updated_at = ? WHERE name = ?`, value, unixNano(now), name)
		if err := affectedOne(res, err); err != nil {
			if errors.Is(err, ErrNotFound) {
				return notFoundf("user %q", name)
			}
			return err
		}
		if revoke {
			return revokeSessions(ctx, c, name, now)
		}
		return nil
	})
}

// DeleteUser removes a user with its team memberships and access tokens,
// and revokes its refresh tokens. ErrNotFound if there is no such user.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.identityTx(ctx, "delete user", func(c conn) error {
		id, err := userID(ctx, c, name)
		if err != nil {
			return err
		}
		// Explicit rather than relying on ON DELETE CASCADE alone, which
		// needs foreign keys enabled on every connection.
		for _, q := range []string{
			`DELETE FROM team_members WHERE user_id = ?`,
			`DELETE FROM access_tokens WHERE user_id = ?`,
			`DELETE FROM users WHERE id = ?`,
		} {
			if _, err := c.exec(ctx, q, id); err != nil {
				return err
			}
		}
		return revokeSessions(ctx, c, name, time.Now())
	})
}

// revokeSessions revokes every refresh token of account.
func revokeSessions(ctx context.Context, c conn, account string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE account = ? AND revoked_at = 0`, unixNano(now), account)
	return err
}

// userID returns the id of a user, or ErrNotFound naming it.
func userID(ctx context.Context, c conn, name string) (int64, error) {
	var id int64
	err := c.queryRow(ctx, `SELECT id FROM users WHERE name = ?`, name).Scan(&id)
	if errors.Is(notFound(err), ErrNotFound) {
		return 0, notFoundf("user %q", name)
	}
	return id, err
}

func nonNilLabels(l map[string][]string) map[string][]string {
	if l == nil {
		return map[string][]string{}
	}
	return l
}
