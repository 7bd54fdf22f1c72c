package mongo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"wharf/internal/auth"
)

// Config is where the server is and how to log in.
type Config struct {
	// Addrs are host or host:port.
	Addrs []string
	// Database holds the collections.
	Database string
	// Username and Password log in, checked in Source; no Username
	// connects without credentials.
	Username string
	Password auth.Secret
	Source   string
	// Mechanism is SCRAM-SHA-1 or SCRAM-SHA-256; empty negotiates.
	Mechanism string
	// Direct talks to the first address only.
	Direct bool
	// TLS connects with TLS; CAPEM, when set, are the CAs trusted for the
	// server's certificate instead of the system's roots.
	TLS   bool
	CAPEM []byte
	// Timeout bounds server selection, connecting and each operation.
	Timeout time.Duration
}

// Client is a connection pool to one database.
type Client struct {
	client *mongodriver.Client
	db     *mongodriver.Database
	// timeout is Config.Timeout, for the reads that bound a whole load.
	timeout time.Duration
}

// Connect opens the pool and checks that the server answers and accepts the
// credentials (a ping), so that a wrong address or password stops start-up
// with a clear error rather than failing every login.
func Connect(ctx context.Context, c Config) (*Client, error) {
	if len(c.Addrs) == 0 || c.Database == "" {
		return nil, errors.New("mongo: addresses and database are required")
	}
	if c.Timeout <= 0 {
		return nil, errors.New("mongo: the timeout must be positive")
	}
	opts := options.Client().
		SetHosts(c.Addrs).
		SetDirect(c.Direct).
		SetTimeout(c.Timeout).
		SetConnectTimeout(c.Timeout).
		SetServerSelectionTimeout(c.Timeout).
		SetAppName("wharf").
		SetMaxPoolSize(16)
	if c.Username != "" {
		opts.SetAuth(options.Credential{
			Username:      c.Username,
			Password:      c.Password.Reveal(),
			AuthSource:    c.Source,
			AuthMechanism: c.Mechanism,
		})
	}
	if c.TLS || len(c.CAPEM) > 0 {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if len(c.CAPEM) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(c.CAPEM) {
				return nil, errors.New("mongo: the CA file holds no PEM certificate")
			}
			cfg.RootCAs = pool
		}
		opts.SetTLSConfig(cfg)
	}
	client, err := mongodriver.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: %v: %w", c.Addrs, err)
	}
	return &Client{client: client, db: client.Database(c.Database), timeout: c.Timeout}, nil
}

// collection returns a collection of the database.
func (c *Client) collection(name string) *mongodriver.Collection { return c.db.Collection(name) }

// Close ends the pool's connections.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	return c.client.Disconnect(ctx)
}
