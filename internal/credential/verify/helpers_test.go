package verify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedclr.Dir(t)
}

func testLoader(t testing.TB) *jsonld.Loader {
	return jsonld.NewLoader(filepath.Join(sharedDir(t), "contexts"))
}

func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
