package issuing_test

import (
	"context"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
	"github.com/learnerrecords/clr-operator/internal/pgtest"
)

// pg is the package's PostgreSQL server, started once.
var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

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
