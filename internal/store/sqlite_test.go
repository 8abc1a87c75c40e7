package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/store"
	"github.com/learnerrecords/clr-operator/internal/store/storetest"
)

func sqliteHarness() storetest.Harness {
	return storetest.Harness{
		NewLocation: func(t testing.TB) string { return filepath.Join(t.TempDir(), "clr.db") },
		Open: func(ctx context.Context, loc string) (store.Store, error) {
			return store.OpenSQLite(ctx, loc, store.SQLiteOptions{})
		},
		CredentialVersions: true,
	}
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, sqliteHarness())
}
