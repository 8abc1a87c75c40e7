// Package image tests the container images without a container engine:
// it builds both images with hack/tools/imagebuild (as `make images` does,
// for this machine's platform), reads the OCI layouts and docker tarballs
// with the standard library, checks each image's config and every file it
// holds (non-root numeric user, static binaries, no shell, the pinned
// JSON-LD contexts), runs the binaries extracted from the images as the
// images' user, checks that the Dockerfile describes the same images, and
// that a second build from the same inputs gives the same digests.
package image

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/repo"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

const (
	// What the test passes to imagebuild, and so expects in the images.
	testVersion    = "0.0.0-imagetest"
	testRevision   = "0123456789abcdef0123456789abcdef01234567"
	testEpoch      = "1700000000"
	managerRef     = "example.test/clr-operator:imagetest"
	serverRef      = "example.test/clr-server:imagetest"
	caBundle       = "/etc/ssl/certs/ca-certificates.crt"
	imageUser      = "65532:65532"
	imageUID       = 65532
	imagebuildPath = "hack/tools/imagebuild"
)

// build is one run of imagebuild.
type build struct {
	Out    string
	Stdout string
}

// buildTool compiles imagebuild (its own Go module) into dir.
func buildTool(t *testing.T, root, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "imagebuild")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(root, imagebuildPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building imagebuild: %v\n%s", err, out)
	}
	return bin
}

// runImagebuild builds both images for this machine's platform into out.
func runImagebuild(t *testing.T, tool, root, contexts, out string) build {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tool, "-repo", root, "-out", out, "-platforms", "linux/"+runtime.GOARCH,
		"-version", testVersion, "-revision", testRevision, "-contexts", contexts, "-ca-bundle", caBundle,
		"-manager-image", managerRef, "-clr-server-image", serverRef)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+testEpoch)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("imagebuild: %v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("imagebuild:\n%s", stdout.Bytes())
	return build{Out: out, Stdout: stdout.String()}
}

// readInputs reads every file the images are built from. The images are
// built by subprocesses, whose reads `go test` does not see: reading the
// inputs here makes the cached test result depend on them, so that a
// change to the operator's or clr-server's sources, the Dockerfile,
// imagebuild, the CA bundle or the contexts runs the test again.
func readInputs(t *testing.T, root, contexts string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module", "./cmd/manager", "./cmd/clr-server")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir        string
			GoFiles    []string
			EmbedFiles []string
			Module     *struct{ Main bool }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list: %v", err)
		}
		if p.Module == nil || !p.Module.Main {
			continue // the standard library and modules: go.sum and the Go version pin them
		}
		if _, err := os.ReadDir(p.Dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			if _, err := os.ReadFile(filepath.Join(p.Dir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range []string{"go.mod", "go.sum", "Dockerfile", caBundle} {
		if !filepath.IsAbs(f) {
			f = filepath.Join(root, f)
		}
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{filepath.Join(root, imagebuildPath), contexts} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = os.ReadFile(p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// tempDir is a temporary directory that the images' user can enter: the
// extracted binaries run as that user.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "clr-image-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Every directory above must be searchable by others, or a non-root
	// process cannot reach the extracted files.
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s is not searchable by other users: set TMPDIR to a directory that is (such as /tmp)", d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return dir
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// contextsDir is the reference data's contexts directory; imagebuild takes
// from it only the pinned files.
func contextsDir(t *testing.T) string {
	t.Helper()
	return sharedclr.ContextsDir(t)
}

func hostPlatform() platform { return platform{OS: "linux", Architecture: runtime.GOARCH} }

// stringsEqual treats nil and empty alike, as JSON's absent and [] are.
func stringsEqual(a, b []string) bool { return slices.Equal(a, b) }
