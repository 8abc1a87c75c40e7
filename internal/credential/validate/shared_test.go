package validate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

// sharedDir returns ../shared/clr relative to the repository root (the
// directory holding go.mod); the reference files are never copied into the repo.
func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedclr.Dir(t)
}

// sharedJSONFiles lists every JSON document under examples/ and test-vectors/
// (including the extension-less status list "testlist", which is JSON too).
func sharedJSONFiles(t testing.TB) []string {
	t.Helper()
	root := sharedDir(t)
	var files []string
	for _, sub := range []string{"examples", "test-vectors"} {
		err := filepath.WalkDir(filepath.Join(root, sub), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (filepath.Ext(p) == ".json" || d.Name() == "testlist") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 15 {
		t.Fatalf("expected the reference examples, found only %d files", len(files))
	}
	return files
}
