package metadata

import (
	"context"
	"errors"
	"time"
)

// Team is a named group of users. Its name reaches ACL rules as a value of
// the member's groups label.
type Team struct {
	Name      string
	Members   []string // user names in byte order
	CreatedAt time.Time
}

// CreateTeam stores a new, empty team; ErrExists if the name is taken.
func (s *Store) CreateTeam(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("metadata: create team: empty name")
	}
	return s.identityTx(ctx, "create team", func(c conn) error {
		if _, err := teamID(ctx, c, name); err == nil {
			return existsf("team %q", name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO teams (name, created_at) VALUES (?, ?)`, name, unixNano(time.Now()))
		return err
	})
}

// DeleteTeam removes a team and its memberships; ErrNotFound if there is
// no such team.
func (s *Store) DeleteTeam(ctx context.Context, name string) error {
	return s.identityTx(ctx, "delete team", func(c conn) error {
		id, err := teamID(ctx, c, name)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM team_members WHERE team_id = ?`, id); err != nil {
			return err
		}
		_, err = c.exec(ctx, `DELETE FROM teams WHERE id = ?`, id)
		return err
	})
}

// ListTeams returns every team with its members, in byte order of names.
func (s *Store) ListTeams(ctx context.Context) ([]Team, error) {
	c := s.read()
	rows, err := c.query(ctx, `SELECT t.name, t.created_at, u.name
FROM teams t
LEFT JOIN team_members m ON m.team_id = t.id
LEFT JOIN users u ON u.id = m.user_id
ORDER BY t.name, u.name`)
	if err != nil {
		return nil, wrap("list teams", err)
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		var (
			name    string
			created int64
			member  *string
		)
		if err := rows.Scan(&name, &created, &member); err != nil {
			return nil, wrap("list teams", err)
		}
		if n := len(out); n == 0 || out[n-1].Name != name {
			out = append(out, Team{Name: name, CreatedAt: fromUnixNano(created)})
		}
		if member != nil {
			t := &out[len(out)-1]
			t.Members = append(t.Members, *member)
		}
	}
	return out, wrap("list teams", rows.Err())
}

// AddTeamMember adds a user to a team. ErrNotFound names a missing team
// or user; ErrExists means the user is already a member.
func (s *Store) AddTeamMember(ctx context.Context, team, user string) error {
	return s.identityTx(ctx, "add team member", func(c conn) error {
		tid, uid, err := teamAndUser(ctx, c, team, user)
		if err != nil {
			return err
		}
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM team_members WHERE team_id = ? AND user_id = ?`, tid, uid).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return existsf("user %q in team %q", user, team)
		}
		_, err = c.exec(ctx, `INSERT INTO team_members (team_id, user_id, created_at) VALUES (?, ?, ?)`, tid, uid, unixNano(time.Now()))
		return err
	})
}

// RemoveTeamMember removes a user from a team; ErrNotFound if the team,
// the user or the membership does not exist.
func (s *Store) RemoveTeamMember(ctx context.Context, team, user string) error {
	return s.identityTx(ctx, "remove team member", func(c conn) error {
		tid, uid, err := teamAndUser(ctx, c, team, user)
		if err != nil {
			return err
		}
		err = affectedOne(c.exec(ctx, `DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, tid, uid))
		if errors.Is(err, ErrNotFound) {
			return notFoundf("user %q is not in team %q", user, team)
		}
		return err
	})
}

func teamAndUser(ctx context.Context, c conn, team, user string) (int64, int64, error) {
	tid, err := teamID(ctx, c, team)
	if err != nil {
		return 0, 0, err
	}
	uid, err := userID(ctx, c, user)
	return tid, uid, err
}

// teamID returns the id of a team, or ErrNotFound naming it.
func teamID(ctx context.Context, c conn, name string) (int64, error) {
	var id int64
	err := c.queryRow(ctx, `SELECT id FROM teams WHERE name = ?`, name).Scan(&id)
	if errors.Is(notFound(err), ErrNotFound) {
		return 0, notFoundf("team %q", name)
	}
	return id, err
}
