package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/mongoauth"
	"wharf/internal/auth/authn/xormauth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/mongoacl"
	"wharf/internal/auth/authz/xormacl"
	"wharf/internal/auth/mongodb"
	"wharf/internal/auth/xormdb"
	"wharf/internal/config"
)

// databaseBackends are the users and ACL rules kept in docker_auth's
// MongoDB collections and SQL tables, in docker_auth's order (mongo, then
// xorm), and what must be closed with the server.
type databaseBackends struct {
	mongoAuthn, xormAuthn authn.Authenticator
	mongoAuthz, xormAuthz authz.Authorizer
	closers               []io.Closer
}

// setupDatabaseBackends builds mongo_auth, acl_mongo, xorm_auth and
// acl_xorm from their sections; each absent section gives nil. The
// databases must answer now (docker_auth does not start either when they
// do not). On error, what was opened is closed.
func setupDatabaseBackends(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *databaseBackends, err error) {
	b := &databaseBackends{}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if c := cfg.MongoAuth; c != nil {
		client, err := mongoClient(ctx, "mongo_auth", c.DialInfo, log)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, client)
		a, err := mongoauth.New(ctx, client, c.Collection, log)
		if err != nil {
			return nil, err
		}
		b.mongoAuthn = a
		log.Info("authenticating against MongoDB", "backend", "mongo_auth", "dial_info", c.DialInfo, "collection", c.Collection)
	}
	if c := cfg.ACLMongo; c != nil {
		client, err := mongoClient(ctx, "acl_mongo", c.DialInfo, log)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, client)
		a, err := mongoacl.New(ctx, client, c.Collection, c.CacheTTLOrDefault(), log)
		if err != nil {
			return nil, fmt.Errorf("acl_mongo: %w", err)
		}
		b.closers = append(b.closers, a)
		b.mongoAuthz = a
		log.Info("authorizing with ACL rules from MongoDB", "backend", "acl_mongo", "dial_info", c.DialInfo,
			"collection", c.Collection, "cache_ttl", c.CacheTTLOrDefault(), "rules", len(a.Rules()))
	}
	if c := cfg.XormAuth; c != nil {
		db, err := xormDatabase(ctx, "xorm_auth", *c)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, db)
		a, err := xormauth.New(ctx, db, log)
		if err != nil {
			return nil, err
		}
		b.xormAuthn = a
		log.Info("authenticating against an SQL table", "backend", "xorm_auth", "database", *c, "table", xormauth.Table)
	}
	if c := cfg.ACLXorm; c != nil {
		db, err := xormDatabase(ctx, "acl_xorm", c.Connection())
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, db)
		a, err := xormacl.New(ctx, db, c.CacheTTLOrDefault(), log)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, a)
		b.xormAuthz = a
		log.Info("authorizing with ACL rules from an SQL table", "backend", "acl_xorm", "database", c.Connection(),
			"table", xormacl.Table, "cache_ttl", c.CacheTTLOrDefault(), "rules", len(a.Rules()))
	}
	return b, nil
}

// authenticators returns the configured user stores, mongo first.
func (b *databaseBackends) authenticators() []authn.Authenticator {
	var out []authn.Authenticator
	for _, a := range []authn.Authenticator{b.mongoAuthn, b.xormAuthn} {
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}

// authorizers returns the configured rule stores, mongo first.
func (b *databaseBackends) authorizers() []authz.Authorizer {
	var out []authz.Authorizer
	for _, a := range []authz.Authorizer{b.mongoAuthz, b.xormAuthz} {
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}

// close closes in reverse order: the reloads stop before their pools close.
func (b *databaseBackends) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i].Close()
	}
}

// mongoClient connects as dial_info says. The password comes from
// password_file (trimmed, as docker_auth) or, discouraged, from password.
func mongoClient(ctx context.Context, key string, d config.MongoDial, log *slog.Logger) (*mongodb.Client, error) {
	c := mongodb.Config{
		Addrs: d.Addrs, Database: d.Database, Username: d.Username, Source: d.SourceOrDefault(),
		Mechanism: d.Mechanism, Direct: d.Direct, TLS: d.EnableTLS, Timeout: d.TimeoutOrDefault(),
		Password: auth.Secret(d.Password),
	}
	if d.Password != "" {
		log.Warn(key+".dial_info.password is written in the configuration; move it to password_file", "backend", key)
	}
	if d.PasswordFile != "" {
		b, err := os.ReadFile(d.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("%s.dial_info.password_file: %w", key, err)
		}
		if c.Password = auth.Secret(strings.TrimSpace(string(b))); c.Password == "" {
			return nil, fmt.Errorf("%s.dial_info.password_file: %s is empty", key, d.PasswordFile)
		}
	}
	if d.CACertificate != "" {
		b, err := os.ReadFile(d.CACertificate)
		if err != nil {
			return nil, fmt.Errorf("%s.dial_info.ca_certificate: %w", key, err)
		}
		c.CAPEM = b
	}
	if !c.TLS && len(c.CAPEM) == 0 && c.Username != "" {
		log.Warn(key+": connecting without TLS; set dial_info.enable_tls on an untrusted network", "backend", key, "addrs", d.Addrs)
	}
	client, err := mongodb.Connect(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return client, nil
}

func xormDatabase(ctx context.Context, key string, c config.XormAuth) (*xormdb.DB, error) {
	conn, err := c.ResolveConnString(key)
	if err != nil {
		return nil, err
	}
	db, err := xormdb.Open(ctx, c.DatabaseType, conn, config.DefaultXormTimeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return db, nil
}
