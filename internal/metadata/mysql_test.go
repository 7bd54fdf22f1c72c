package metadata_test

import (
	"testing"

	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
)

func TestMariaDBConformance(t *testing.T) {
	m := servers.MariaDB(t)
	metadatatest.Run(t, func(t *testing.T) *metadata.Store {
		return openServer(t, "mysql", m.NewDatabase(t))
	})
}

func TestMariaDBServer(t *testing.T) {
	m := servers.MariaDB(t)
	metadatatest.RunServer(t, "mysql", func(t *testing.T) string { return m.NewDatabase(t) })
}
