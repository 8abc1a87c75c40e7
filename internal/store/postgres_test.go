package store_test

import (
	"context"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/pgtest"
	"github.com/learnerrecords/clr-operator/internal/store"
	"github.com/learnerrecords/clr-operator/internal/store/storetest"
)

// pg is the package's PostgreSQL server, started once in TestMain.
var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

func postgresHarness() storetest.Harness {
	return storetest.Harness{
		NewLocation: func(t testing.TB) string {
			dsn, err := pg.NewDatabase(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return dsn
		},
		Open: func(ctx context.Context, loc string) (store.Store, error) {
			return store.OpenPostgres(ctx, loc, store.PostgresOptions{})
		},
	}
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, postgresHarness())
}
