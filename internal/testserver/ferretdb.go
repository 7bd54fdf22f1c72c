package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// FerretDB is a running FerretDB v1 server: the MongoDB wire protocol over
// SQLite files, with SCRAM authentication. Tests of the MongoDB backends
// talk to it with the real MongoDB driver, as they would to MongoDB.
type FerretDB struct {
	// Addr is host:port.
	Addr string
	// Database is the database the account may use; Username and
	// PasswordFile log in to it (the file holds the password, no newline).
	Database, Username, PasswordFile string
	// Dir holds the SQLite files, the state and the log.
	Dir string

	password string
	proc     *Process
}

// FerretDBDatabase is the database StartFerretDB sets up.
const FerretDBDatabase = "docker_auth"

// StartFerretDB starts bin/ferretdb (built by `make deps`) with its SQLite
// backend in a temporary directory, on a free loopback port, with an
// account of a random password on FerretDBDatabase. It logs to
// ferretdb.log in its directory and is stopped when the test ends.
func StartFerretDB(t testing.TB) *FerretDB {
	t.Helper()
	SkipIfShort(t)
	candidates := []string{"ferretdb"}
	if root, err := repoRoot(); err == nil {
		candidates = append([]string{filepath.Join(root, "bin", "ferretdb")}, candidates...)
	}
	bin := FindBinary(t, "ferretdb (FerretDB v1, built into ./bin by `make deps`)", candidates...)
	dir := t.TempDir()
	f := &FerretDB{
		Addr:         fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		Database:     FerretDBDatabase,
		Username:     "wharf",
		PasswordFile: filepath.Join(dir, "password"),
		Dir:          dir,
		password:     randomPassword(),
	}
	writeFile(t, f.PasswordFile, f.password, 0o600)
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--handler=sqlite",
		"--sqlite-url=file:"+data+"/",
		"--state-dir="+dir,
		"--listen-addr="+f.Addr,
		fmt.Sprintf("--debug-addr=127.0.0.1:%d", FreePort(t)),
		"--telemetry=disable",
		"--log-level=INFO",
		"--test-enable-new-auth",
		"--setup-database="+f.Database,
		"--setup-username="+f.Username,
		"--setup-password="+f.password,
	)
	cmd.Dir = dir
	f.proc = Start(t, "ferretdb", filepath.Join(dir, "ferretdb.log"), cmd)
	f.proc.WaitFor(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := f.connect()
		if err != nil {
			return err
		}
		defer c.Disconnect(context.Background())
		return c.Ping(ctx, nil)
	})
	return f
}

// Password is the account's password.
func (f *FerretDB) Password() string { return f.password }

// Stop ends the server (it is stopped at the end of the test anyway).
func (f *FerretDB) Stop(t testing.TB) { f.proc.Stop(t) }

func (f *FerretDB) connect() (*mongo.Client, error) {
	return mongo.Connect(options.Client().SetHosts([]string{f.Addr}).SetTimeout(10 * time.Second).
		SetServerSelectionTimeout(5 * time.Second).
		SetAuth(options.Credential{Username: f.Username, Password: f.password, AuthSource: f.Database}))
}

// Collection returns a collection of Database through a client of its
// own, closed when the test ends, for seeding and changing test data.
func (f *FerretDB) Collection(t testing.TB, name string) *mongo.Collection {
	t.Helper()
	c, err := f.connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c.Database(f.Database).Collection(name)
}

// Insert adds documents to a collection of Database (each a bson.D, a
// bson.M or a struct), failing t on error.
func (f *FerretDB) Insert(t testing.TB, collection string, docs ...any) {
	t.Helper()
	if len(docs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.Collection(t, collection).InsertMany(ctx, docs); err != nil {
		t.Fatalf("ferretdb: insert into %s: %v; log %s:\n%s", collection, err, f.proc.LogPath, Tail(f.proc.LogPath, 20))
	}
}

// Replace replaces every document of a collection with docs.
func (f *FerretDB) Replace(t testing.TB, collection string, docs ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.Collection(t, collection).DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatalf("ferretdb: empty %s: %v", collection, err)
	}
	f.Insert(t, collection, docs...)
}

// repoRoot is the directory of wharf's go.mod, above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module wharf\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testserver: not inside the wharf module")
		}
		dir = parent
	}
}
