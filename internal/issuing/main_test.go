package issuing_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
	"github.com/learnerrecords/clr-operator/internal/pgtest"
)

// pg is the package's PostgreSQL server, started once.
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
	if err := srv.Stop(); err != nil && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// stores runs f against SQLite and PostgreSQL.
func stores(t *testing.T, f func(t *testing.T, opts issuingtest.Options)) {
	t.Run("sqlite", func(t *testing.T) { f(t, issuingtest.Options{}) })
	t.Run("postgres", func(t *testing.T) {
		dsn, err := pg.NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f(t, issuingtest.Options{PostgresDSN: dsn})
	})
}
