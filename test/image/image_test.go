package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
)

// digestRE finds the digests imagebuild prints (an index and a manifest per image).
var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// wantImage is what one image must be.
type wantImage struct {
	Name       string // Dockerfile target and output name
	Ref        string
	Title      string
	Binary     string
	Entrypoint []string
	Cmd        []string
	Env        []string
	Ports      []string
	Contexts   bool
}

var wantImages = []wantImage{
	{Name: "manager", Ref: managerRef, Title: "clr-operator", Binary: "manager",
		Entrypoint: []string{"/manager"}, Env: []string{pathEnv}},
	{Name: "clr-server", Ref: serverRef, Title: "clr-server", Binary: "clr-server",
		Entrypoint: []string{"/clr-server"}, Cmd: []string{"serve"},
		Env: []string{pathEnv, "CLR_SERVER_CONTEXTS=/contexts"}, Ports: []string{"8080/tcp", "9090/tcp"}, Contexts: true},
}

// wantFiles lists every entry the image's layers hold, in layer order:
// directories end in "/". Anything else (a shell, a package database, a
// stray file) fails the test.
func wantFiles(t *testing.T, root string, w wantImage) [][]string {
	t.Helper()
	var base []string
	err := filepath.WalkDir(filepath.Join(root, imagebuildPath, "rootfs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(root, imagebuildPath, "rootfs"), p)
		base = append(base, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	base = append(base, "etc/", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt")
	slices.Sort(base)
	layers := [][]string{base}
	if w.Contexts {
		ctx := []string{"contexts/"}
		for _, p := range jsonld.StandardPins {
			ctx = append(ctx, "contexts/"+p.File)
		}
		slices.Sort(ctx)
		layers = append(layers, ctx)
	}
	return append(layers, []string{w.Binary})
}

func TestImages(t *testing.T) {
	root := repoRoot(t)
	contexts := contextsDir(t)
	readInputs(t, root, contexts)
	work := tempDir(t)
	tool := buildTool(t, root, work)
	first := runImagebuild(t, tool, root, contexts, filepath.Join(work, "a"))
	epoch, _ := strconv.ParseInt(testEpoch, 10, 64)
	created := time.Unix(epoch, 0).UTC()

	images := map[string]*ociImage{}
	for _, w := range wantImages {
		t.Run(w.Name, func(t *testing.T) {
			dir := filepath.Join(first.Out, w.Name)
			top, idx := readLayout(t, dir)
			if got := top.Annotations["org.opencontainers.image.ref.name"]; got != "imagetest" {
				t.Errorf("layout ref name %q, want the tag %q", got, "imagetest")
			}
			if got := top.Annotations["io.containerd.image.name"]; got != w.Ref {
				t.Errorf("layout image name %q, want %q", got, w.Ref)
			}
			if len(idx.Manifests) != 1 {
				t.Fatalf("index holds %d manifests, want one (this machine's platform)", len(idx.Manifests))
			}
			img := readImage(t, dir, idx, hostPlatform())
			images[w.Name] = img
			checkConfig(t, img, w, created)
			checkFiles(t, root, img, w, created)
			checkStatic(t, img.files()[w.Binary].Data)
			if w.Contexts {
				checkContexts(t, img)
			}
			checkDockerTarball(t, filepath.Join(first.Out, w.Name+"-linux-"+runtime.GOARCH+".tar"), img, w.Ref)
		})
	}
	if t.Failed() {
		return
	}

	t.Run("manager runs as its user", func(t *testing.T) {
		rootfs := tempDir(t)
		extract(t, images["manager"], rootfs)
		runManagerHelp(t, rootfs, images["manager"])
	})
	t.Run("clr-server serves as its user", func(t *testing.T) {
		rootfs := tempDir(t)
		extract(t, images["clr-server"], rootfs)
		runServer(t, rootfs, images["clr-server"])
	})
	t.Run("Dockerfile describes the same images", func(t *testing.T) {
		checkDockerfile(t, root, images)
	})
	t.Run("reproducible", func(t *testing.T) {
		// A second build from the same inputs: the binaries are linked
		// again and the layers written again; every digest must match.
		second := runImagebuild(t, tool, root, contexts, filepath.Join(work, "b"))
		a, b := digestRE.FindAllString(first.Stdout, -1), digestRE.FindAllString(second.Stdout, -1)
		if len(a) != 2*len(wantImages) || !stringsEqual(a, b) {
			// (Editing a source file while the test runs changes them too.)
			t.Errorf("digests differ between two builds of the same inputs:\n%s\n%s", first.Stdout, second.Stdout)
		}
		for _, w := range wantImages {
			a, _ := os.ReadFile(filepath.Join(first.Out, w.Name, "index.json"))
			b, _ := os.ReadFile(filepath.Join(second.Out, w.Name, "index.json"))
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("%s: index.json differs:\n%s\n%s", w.Name, a, b)
			}
		}
	})
}

func checkConfig(t *testing.T, img *ociImage, w wantImage, created time.Time) {
	t.Helper()
	c := img.Config
	if c.OS != "linux" || c.Architecture != runtime.GOARCH {
		t.Errorf("config platform %s/%s", c.OS, c.Architecture)
	}
	if !c.Created.Equal(created) {
		t.Errorf("created %s, want SOURCE_DATE_EPOCH %s", c.Created, created)
	}
	// A numeric, non-root user and group: runAsNonRoot can check it
	// without /etc/passwd.
	uid, gid, ok := strings.Cut(c.Config.User, ":")
	u, errU := strconv.Atoi(uid)
	g, errG := strconv.Atoi(gid)
	if !ok || errU != nil || errG != nil || u == 0 || g == 0 || c.Config.User != imageUser {
		t.Errorf("user %q, want the numeric non-root %q", c.Config.User, imageUser)
	}
	if !stringsEqual(c.Config.Entrypoint, w.Entrypoint) {
		t.Errorf("entrypoint %q, want %q", c.Config.Entrypoint, w.Entrypoint)
	}
	if !stringsEqual(c.Config.Cmd, w.Cmd) {
		t.Errorf("cmd %q, want %q", c.Config.Cmd, w.Cmd)
	}
	if !stringsEqual(c.Config.Env, w.Env) {
		t.Errorf("env %q, want %q", c.Config.Env, w.Env)
	}
	if c.Config.WorkingDir != "/" {
		t.Errorf("working dir %q", c.Config.WorkingDir)
	}
	if got := slices.Sorted(maps.Keys(c.Config.ExposedPorts)); !stringsEqual(got, w.Ports) {
		t.Errorf("exposed ports %q, want %q", got, w.Ports)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":    w.Title,
		"org.opencontainers.image.source":   "https://github.com/learnerrecords/clr-operator",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
	}
	for k, v := range wantLabels {
		if c.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Config.Labels[k], v)
		}
	}
	if c.Config.Labels["org.opencontainers.image.description"] == "" {
		t.Error("no org.opencontainers.image.description label")
	}
	if len(c.History) != len(img.Layers) {
		t.Errorf("%d history entries for %d layers", len(c.History), len(img.Layers))
	}
}

func checkFiles(t *testing.T, root string, img *ociImage, w wantImage, created time.Time) {
	t.Helper()
	want := wantFiles(t, root, w)
	if len(img.Layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(img.Layers), len(want))
	}
	for i, layer := range img.Layers {
		var got []string
		for _, e := range layer {
			got = append(got, e.Name)
			// Everything belongs to root: the image's user reads and runs,
			// never changes, its files.
			if e.UID != 0 || e.GID != 0 {
				t.Errorf("%s owned by %d:%d, want 0:0", e.Name, e.UID, e.GID)
			}
			if !e.ModTime.Equal(created) {
				t.Errorf("%s mtime %s, want %s", e.Name, e.ModTime, created)
			}
			wantMode := int64(0o644)
			switch {
			case e.Type == tar.TypeDir, e.Name == w.Binary:
				wantMode = 0o755
			}
			if e.Mode != wantMode {
				t.Errorf("%s mode %o, want %o", e.Name, e.Mode, wantMode)
			}
		}
		slices.Sort(got)
		if !stringsEqual(got, want[i]) {
			t.Errorf("layer %d holds\n  %q\nwant\n  %q", i, got, want[i])
		}
	}
	files := img.files()
	for _, name := range []string{"etc/passwd", "etc/group"} {
		src, err := os.ReadFile(filepath.Join(root, imagebuildPath, "rootfs", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files[name].Data, src) {
			t.Errorf("%s differs from %s/rootfs/%s", name, imagebuildPath, name)
		}
	}
	if !strings.Contains(string(files["etc/passwd"].Data), ":65532:65532:") {
		t.Errorf("/etc/passwd names no user 65532:\n%s", files["etc/passwd"].Data)
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		t.Fatal(err)
	}
	if got := files["etc/ssl/certs/ca-certificates.crt"].Data; !bytes.Equal(got, ca) || !bytes.Contains(got, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("/etc/ssl/certs/ca-certificates.crt (%d bytes) is not the build machine's CA bundle (%d bytes)", len(got), len(ca))
	}
}

// checkStatic: the binary is a static ELF executable for the image's
// architecture (no program interpreter, no dynamic section), so that it
// runs on an image with no libc.
func checkStatic(t *testing.T, data []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("binary is not ELF: %v", err)
	}
	defer f.Close()
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if f.Machine != wantMachine || f.Type != elf.ET_EXEC {
		t.Errorf("ELF machine %s type %s, want %s executable", f.Machine, f.Type, wantMachine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %s program header: not static", p.Type)
		}
	}
	if f.Section(".dynamic") != nil || f.Section(".interp") != nil {
		t.Error("binary has a .dynamic or .interp section: not static")
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("binary imports libraries %q (%v)", libs, err)
	}
}

// checkContexts: the image holds exactly the pinned contexts, each
// matching its pin.
func checkContexts(t *testing.T, img *ociImage) {
	t.Helper()
	files := img.files()
	for _, p := range jsonld.StandardPins {
		e, ok := files["contexts/"+p.File]
		if !ok {
			t.Errorf("context %s (%s) missing", p.URL, p.File)
			continue
		}
		if got := sha256Hex(e.Data); got != p.SHA256 {
			t.Errorf("context %s: sha256 %s, pinned %s", p.File, got, p.SHA256)
		}
	}
}

// checkDockerTarball: the `docker load` tarball holds the same image
// (config and layers byte for byte) tagged with the image's reference.
func checkDockerTarball(t *testing.T, tarPath string, img *ociImage, ref string) {
	t.Helper()
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", tarPath, err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(tr); err != nil {
			t.Fatalf("%s: %v", tarPath, err)
		}
		entries[path.Clean(h.Name)] = buf.Bytes()
	}
	var m []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &m); err != nil || len(m) != 1 {
		t.Fatalf("%s: manifest.json: %v (%d entries)", tarPath, err, len(m))
	}
	if !stringsEqual(m[0].RepoTags, []string{ref}) {
		t.Errorf("docker tarball tags %q, want %q", m[0].RepoTags, ref)
	}
	if got := "sha256:" + sha256Hex(entries[m[0].Config]); got != img.ConfigDigest {
		t.Errorf("docker tarball config %s, OCI image config %s", got, img.ConfigDigest)
	}
	if len(m[0].Layers) != len(img.CompressedLayers) {
		t.Fatalf("docker tarball has %d layers, OCI image %d", len(m[0].Layers), len(img.CompressedLayers))
	}
	for i, l := range m[0].Layers {
		if !bytes.Equal(entries[l], img.CompressedLayers[i]) {
			t.Errorf("docker tarball layer %d (%s) differs from the OCI layer", i, l)
		}
	}
}
