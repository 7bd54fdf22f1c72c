package accounts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/metadata"
)

// Who may administer Wharf, and the rule that keeps one: disabling or
// removing an account is refused when that account may administer and no
// other enabled account could. The admin API and `wharf user` share the
// check, since both change accounts through a Service, and the check and
// its write are one atomic step (keepingAnAdmin), across processes too.

// The scope the admin API asks the ACL for: type admin, name api, every
// action. The ACL grants it like any other (wharf serve's built-in
// default gives admin "*" on everything); an access token needs it among
// its scopes.
const (
	AdminScopeType   = "admin"
	AdminScopeName   = "api"
	AdminScopeAction = "*"
)

// AdminAccess is that scope as a request asks for it.
func AdminAccess() auth.Access {
	return auth.Access{Type: AdminScopeType, Name: AdminScopeName, Actions: []string{AdminScopeAction}}
}

// ErrRefused means a change is refused because of what it would leave
// behind (no administrator, a built-in account the next start would
// create again); the message says what to do instead.
var ErrRefused = errors.New("accounts: refused")

// adminCheckAttempts bounds how often keepingAnAdmin checks again after
// another identity change committed between its check and its write.
const adminCheckAttempts = 8

// keepingAnAdmin runs write, which disables or removes (verb) the database
// account name, unless keepAnAdmin refuses it. The write commits only if
// no identity change committed since the check read the accounts
// (metadata.IfIdentityAt); otherwise the check runs again on what is there
// now. Two administrators removing each other at once thus leave one: the
// second removal is checked again, and refused.
func (s *Service) keepingAnAdmin(ctx context.Context, name, verb string, write func(context.Context) error) error {
	return s.checkedWrite(ctx, verb+" "+name, func(ctx context.Context) (int64, error) { return s.keepAnAdmin(ctx, name, verb) }, write)
}

// checkedWrite runs check, then write at the identity generation check
// read (metadata.IfIdentityAt), and both again when another identity
// change committed in between.
func (s *Service) checkedWrite(ctx context.Context, what string, check func(context.Context) (int64, error), write func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		gen, err := check(ctx)
		if err != nil {
			return err
		}
		if s.checked != nil {
			s.checked()
		}
		err = write(metadata.IfIdentityAt(ctx, gen))
		if !errors.Is(err, metadata.ErrIdentityChanged) {
			return err
		}
		if attempt == adminCheckAttempts {
			return fmt.Errorf("accounts: %s: accounts kept changing while it was checked (%d attempts); try again: %w", what, attempt, err)
		}
	}
}

// keepingAdministered runs write, a change to the rules, memberships or
// tokens (what) that can take the right to administer away, unless after
// it — after applied to what is there now — no account could administer
// while one could before. Like keepingAnAdmin, the check and the write are
// one atomic step.
func (s *Service) keepingAdministered(ctx context.Context, what string, after func(*Snapshot) (*Snapshot, error), write func(context.Context) error) error {
	return s.checkedWrite(ctx, what, func(ctx context.Context) (int64, error) {
		snap, err := Load(ctx, s.store, nil)
		if err != nil {
			return 0, err
		}
		now := s.opts.Now()
		if before, _, err := s.administrators(snap, now, ""); err != nil || len(before) == 0 {
			return snap.Generation, err
		}
		changed, err := after(snap)
		if err != nil || changed == nil {
			return snap.Generation, err // nothing to change: the store reports it
		}
		left, dormant, err := s.administrators(changed, now, "")
		if err != nil || len(left) > 0 {
			return snap.Generation, err
		}
		return 0, noAdminLeft(what+" would leave no account that may administer Wharf: it takes "+AdminAccess().String()+
			" (what the admin API asks for) from the last enabled account the ACL grants it. ", dormant)
	}, write)
}

// keepAnAdmin refuses to disable or remove (verb) the database account
// name when it may administer and no other account could afterwards, and
// returns the identity generation it read. Accounts of other backends
// (LDAP, sign-ins, …) cannot be listed and do not count; rules that match
// a client address are taken not to apply. An account that does not exist
// is the store's to report.
func (s *Service) keepAnAdmin(ctx context.Context, name, verb string) (int64, error) {
	snap, err := Load(ctx, s.store, nil)
	if err != nil {
		return 0, err
	}
	a, ok := snap.Account(name)
	if !ok || a.Disabled {
		return snap.Generation, nil
	}
	now := s.opts.Now()
	if is, err := s.administers(snap, now, a); err != nil || !is {
		return snap.Generation, err
	}
	others, dormant, err := s.administrators(snap, now, name)
	if err != nil || len(others) > 0 {
		return snap.Generation, err
	}
	return 0, noAdminLeft(fmt.Sprintf("%s %s would leave no account that may administer Wharf: it is the only enabled one the ACL grants %s (what the admin API asks for). ",
		verb, name, AdminAccess()), dormant)
}

// noAdminLeft is the refusal of a change that would leave nobody to
// administer: why, then what to do instead.
func noAdminLeft(why string, dormant []string) error {
	var b strings.Builder
	b.WriteString(why)
	if len(dormant) > 0 {
		fmt.Fprintf(&b, "Enable one the ACL already grants it first (%s: wharf user enable %s), or let", strings.Join(dormant, ", "), dormant[0])
	} else {
		b.WriteString("First let")
	}
	b.WriteString(" another account administer, e.g. `wharf user add ops` then `wharf acl add --account ops --type admin --name api --actions '*'` (or POST /api/v1/users and /api/v1/acl/rules); accounts of LDAP and the other backends are not counted")
	return fmt.Errorf("%w: %s", ErrRefused, b.String())
}

// withoutRule is snap without the stored rule id; nil when it has none.
func (snap *Snapshot) withoutRule(id int64) (*Snapshot, error) {
	i := slices.IndexFunc(snap.rules, func(r metadata.ACLRule) bool { return r.ID == id })
	if i < 0 {
		return nil, nil
	}
	return snap.withRules(slices.Delete(slices.Clone(snap.rules), i, i+1))
}

// withRules is snap with rules in place of its own.
func (snap *Snapshot) withRules(rules []metadata.ACLRule) (*Snapshot, error) {
	acl, _, err := compileRules(rules)
	if err != nil {
		return nil, err
	}
	cp := *snap
	cp.rules, cp.acl = rules, acl
	return &cp, nil
}

// withRuleAt is snap with r inserted at position, as AddACLRule places it
// (0 or past the end: last).
func (snap *Snapshot) withRuleAt(r metadata.ACLRule, position int) (*Snapshot, error) {
	i := len(snap.rules)
	if position > 0 && position <= len(snap.rules) {
		i = position - 1
	}
	return snap.withRules(slices.Insert(slices.Clone(snap.rules), i, r))
}

// withRuleMoved is snap with rule id at position, as MoveACLRule moves it;
// nil when it has no such rule.
func (snap *Snapshot) withRuleMoved(id int64, position int) (*Snapshot, error) {
	from := slices.IndexFunc(snap.rules, func(r metadata.ACLRule) bool { return r.ID == id })
	if from < 0 || position < 1 {
		return nil, nil
	}
	rules := slices.Clone(snap.rules)
	r := rules[from]
	rules = slices.Delete(rules, from, from+1)
	return snap.withRules(slices.Insert(rules, min(position, len(snap.rules))-1, r))
}

// withoutTeam is snap with user out of team, or every member when user is
// ""; nil when that changes nobody.
func (snap *Snapshot) withoutTeam(team, user string) *Snapshot {
	var cp *Snapshot
	for name, a := range snap.accounts {
		if (user != "" && name != user) || !slices.Contains(a.Teams, team) {
			continue
		}
		if cp == nil {
			c := *snap
			c.accounts = maps.Clone(snap.accounts)
			cp = &c
		}
		b := *a
		b.Teams = slices.DeleteFunc(slices.Clone(a.Teams), func(t string) bool { return t == team })
		b.labels = authn.CloneLabels(a.labels)
		b.labels[LabelGroups] = slices.Clone(b.Teams)
		if len(b.Teams) == 0 {
			delete(b.labels, LabelGroups)
		}
		cp.accounts[name] = &b
	}
	return cp
}

// withoutToken is snap with token id revoked; nil when it has no such
// token.
func (snap *Snapshot) withoutToken(id string) *Snapshot {
	t, ok := snap.tokens[id]
	if !ok {
		return nil
	}
	cp := *snap
	cp.tokens = maps.Clone(snap.tokens)
	revoked := *t
	revoked.Revoked = true
	cp.tokens[id] = &revoked
	return &cp
}

// administrators lists the accounts, but except, that may administer now
// (configured ones first, then database accounts, each in name order),
// and the disabled database accounts that could once enabled.
func (s *Service) administrators(snap *Snapshot, now time.Time, except string) (enabled, dormant []string, err error) {
	for _, name := range slices.Sorted(maps.Keys(s.opts.Configured)) {
		if name == except {
			continue
		}
		labels := cloneLabels(s.opts.Configured[name])
		if labels == nil {
			labels = auth.Labels{}
		}
		labels[auth.LabelSource] = []string{"static"}
		if ok, err := s.granted(snap, now, name, labels); err != nil {
			return nil, nil, err
		} else if ok {
			enabled = append(enabled, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(snap.accounts)) {
		a := snap.accounts[name]
		if _, shadowed := s.opts.Configured[name]; shadowed || name == except {
			continue
		}
		view, acct := snap, a
		if a.Disabled {
			view, acct = snap.enabled(name)
		}
		ok, err := s.administers(view, now, acct)
		switch {
		case err != nil:
			return nil, nil, err
		case ok && a.Disabled:
			dormant = append(dormant, name)
		case ok:
			enabled = append(enabled, name)
		}
	}
	return enabled, dormant, nil
}

// administers reports whether the database account a may administer: a
// user with its password, a robot with one of its usable tokens whose
// scopes allow the admin scope too.
func (s *Service) administers(snap *Snapshot, now time.Time, a *Account) (bool, error) {
	if !a.Robot {
		return s.granted(snap, now, a.Name, a.Labels(""))
	}
	for _, id := range slices.Sorted(maps.Keys(snap.tokens)) {
		if t := snap.tokens[id]; t.User == a.Name && t.Usable(now) {
			if ok, err := s.granted(snap, now, a.Name, a.Labels(id)); err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

// granted reports whether the account with labels gets the admin scope
// from the configured layers and the database's rules, as the token
// server would decide it.
func (s *Service) granted(snap *Snapshot, now time.Time, name string, labels auth.Labels) (bool, error) {
	ex, err := snap.explain(s.opts.Layers, auth.Request{Identity: auth.Identity{Account: name, Labels: labels},
		Service: s.opts.TokenService, Access: AdminAccess()}, now)
	if err != nil {
		return false, err
	}
	return slices.Contains(ex.Granted, AdminScopeAction), nil
}

// enabled returns a copy of the snapshot in which the account name is
// enabled, and that account: what it could do once `wharf user enable`d.
func (snap *Snapshot) enabled(name string) (*Snapshot, *Account) {
	cp := *snap
	cp.accounts = maps.Clone(snap.accounts)
	a := *snap.accounts[name]
	a.Disabled = false
	cp.accounts[name] = &a
	return &cp, &a
}
