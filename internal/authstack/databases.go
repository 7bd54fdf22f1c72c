package authstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/mongo"
	"wharf/internal/auth/xorm"
	"wharf/internal/config"
)

// The users and ACL rules kept in docker_auth's MongoDB collections and
// SQL tables. Each section has a connection of its own; the databases must
// answer now (docker_auth does not start either when they do not).

func mongoAuth(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.MongoAuth
	if c == nil {
		return Backend{}, nil, nil
	}
	client, err := mongoClient(ctx, "mongo_auth", c.DialInfo, b.log)
	if err != nil {
		return Backend{}, nil, err
	}
	a, err := mongo.NewAuthenticator(ctx, client, c.Collection, b.log)
	if err != nil {
		_ = client.Close()
		return Backend{}, nil, err
	}
	b.log.Info("authenticating against MongoDB", "backend", "mongo_auth", "dial_info", c.DialInfo, "collection", c.Collection)
	return Backend{Authn: a}, client, nil
}

// aclMongo's reloads stop before its connection closes.
func aclMongo(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.ACLMongo
	if c == nil {
		return Backend{}, nil, nil
	}
	client, err := mongoClient(ctx, "acl_mongo", c.DialInfo, b.log)
	if err != nil {
		return Backend{}, nil, err
	}
	a, err := mongo.NewACL(ctx, client, c.Collection, c.CacheTTLOrDefault(), b.log)
	if err != nil {
		_ = client.Close()
		return Backend{}, nil, fmt.Errorf("acl_mongo: %w", err)
	}
	b.log.Info("authorizing with ACL rules from MongoDB", "backend", "acl_mongo", "dial_info", c.DialInfo,
		"collection", c.Collection, "cache_ttl", c.CacheTTLOrDefault(), "rules", len(a.Rules()))
	return Backend{Authz: a}, &closerStack{client, a}, nil
}

func xormAuth(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.XormAuth
	if c == nil {
		return Backend{}, nil, nil
	}
	db, err := xormDatabase(ctx, "xorm_auth", *c)
	if err != nil {
		return Backend{}, nil, err
	}
	a, err := xorm.NewAuthenticator(ctx, db, b.log)
	if err != nil {
		_ = db.Close()
		return Backend{}, nil, err
	}
	b.log.Info("authenticating against an SQL table", "backend", "xorm_auth", "database", *c, "table", xorm.UserTable)
	return Backend{Authn: a}, db, nil
}

// aclXorm's reloads stop before its database closes.
func aclXorm(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.ACLXorm
	if c == nil {
		return Backend{}, nil, nil
	}
	db, err := xormDatabase(ctx, "acl_xorm", c.Connection())
	if err != nil {
		return Backend{}, nil, err
	}
	a, err := xorm.NewACL(ctx, db, c.CacheTTLOrDefault(), b.log)
	if err != nil {
		_ = db.Close()
		return Backend{}, nil, err
	}
	b.log.Info("authorizing with ACL rules from an SQL table", "backend", "acl_xorm", "database", c.Connection(),
		"table", xorm.ACLTable, "cache_ttl", c.CacheTTLOrDefault(), "rules", len(a.Rules()))
	return Backend{Authz: a}, &closerStack{db, a}, nil
}

// mongoClient connects as dial_info says. The password comes from
// password_file (trimmed, as docker_auth) or, discouraged, from password.
func mongoClient(ctx context.Context, key string, d config.MongoDial, log *slog.Logger) (*mongo.Client, error) {
	c := mongo.Config{
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
	client, err := mongo.Connect(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return client, nil
}

func xormDatabase(ctx context.Context, key string, c config.XormAuth) (*xorm.DB, error) {
	conn, err := c.ResolveConnString(key)
	if err != nil {
		return nil, err
	}
	db, err := xorm.Open(ctx, c.DatabaseType, conn, config.DefaultXormTimeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return db, nil
}
