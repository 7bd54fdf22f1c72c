package metadata_test

import (
	"testing"

	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
)

func TestPostgresConformance(t *testing.T) {
	pg := servers.Postgres(t)
	metadatatest.Run(t, func(t *testing.T) *metadata.Store {
		return openServer(t, "postgres", pg.NewDatabase(t))
	})
}

func TestPostgresServer(t *testing.T) {
	pg := servers.Postgres(t)
	metadatatest.RunServer(t, "postgres", func(t *testing.T) string { return pg.NewDatabase(t) })
}
