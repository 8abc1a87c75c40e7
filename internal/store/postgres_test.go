package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/pgtest"
	"github.com/learnerrecords/clr-operator/internal/store"
	"github.com/learnerrecords/clr-operator/internal/store/storetest"
)

// pg is the package's PostgreSQL server, started once in TestMain.
var pg *pgtest.Server

func TestMain(m *testing.M) {
	srv, err := pgtest.Start()
	if err != nil {
		// Fail, not skip: the PostgreSQL store is part of what is tested.
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	pg = srv
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop postgres:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

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
