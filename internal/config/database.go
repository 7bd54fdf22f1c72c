package config

// Database selects the SQL database holding metadata (repositories,
// manifests, tags) and identity (users, teams, ACL rules, access tokens).
type Database struct {
	// Driver is "sqlite" (the default, a file in the data directory),
	// "postgres" or "mysql".
	Driver string `yaml:"driver"`
	// DSN is the driver's connection string; empty with sqlite means
	// <data>/wharf.db.
	DSN string `yaml:"dsn"`
}
