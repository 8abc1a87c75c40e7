package image

import (
	"archive/tar"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A reader of the few Dockerfile instructions the images use, enough to
// check that the Dockerfile (for Docker/BuildKit) and `make images`
// describe the same images.

type instruction struct {
	Cmd  string // upper case
	Args string
}

type stage struct {
	Name   string
	From   string
	Instrs []instruction
}

func parseDockerfile(t *testing.T, file string) map[string]*stage {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]*stage{}
	var cur *stage
	var logical string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if logical == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if strings.HasSuffix(trimmed, "\\") {
			logical += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		logical += trimmed
		cmd, args, _ := strings.Cut(logical, " ")
		logical = ""
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			cur = &stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				cur.Name = f[2]
				stages[cur.Name] = cur
			}
			continue
		}
		if cur != nil {
			cur.Instrs = append(cur.Instrs, in)
		}
	}
	return stages
}

// keyValues parses `k=v k2="v 2"` (LABEL, ENV, ARG) in order.
func keyValues(t *testing.T, s string) [][2]string {
	t.Helper()
	var out [][2]string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || strings.ContainsAny(k, " \t\"") {
			if !strings.ContainsAny(s, " \t=") { // ARG NAME without default
				out = append(out, [2]string{s, ""})
				return out
			}
			t.Fatalf("Dockerfile: cannot read %q as key=value", s)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\') {
				end++
			}
			if end == len(rest) {
				t.Fatalf("Dockerfile: unterminated quote in %q", s)
			}
			v = strings.ReplaceAll(rest[1:end], `\"`, `"`)
			rest = rest[end+1:]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		out = append(out, [2]string{k, v})
		s = rest
	}
	return out
}

// expand substitutes $NAME and ${NAME} with the stage's build arguments.
func expand(s string, args map[string]string) string {
	return os.Expand(s, func(k string) string { return args[k] })
}

// imageOfStage is the image config and copies a final stage describes.
type imageOfStage struct {
	User, WorkDir   string
	Entrypoint, Cmd []string
	Env             []string
	Ports           []string
	Labels          map[string]string
	Copies          []copyInstr
}

type copyInstr struct {
	From string // stage name, or "" for the build context
	Srcs []string
	Dest string
}

func describe(t *testing.T, st *stage, buildArgs map[string]string) imageOfStage {
	t.Helper()
	img := imageOfStage{WorkDir: "/", Labels: map[string]string{}}
	args := map[string]string{}
	execForm := func(in instruction) []string {
		var v []string
		if err := json.Unmarshal([]byte(in.Args), &v); err != nil {
			t.Fatalf("Dockerfile stage %s: %s %s is not in exec (JSON) form: %v", st.Name, in.Cmd, in.Args, err)
		}
		return v
	}
	for _, in := range st.Instrs {
		switch in.Cmd {
		case "ARG":
			for _, kv := range keyValues(t, in.Args) {
				args[kv[0]] = kv[1]
				if v, ok := buildArgs[kv[0]]; ok {
					args[kv[0]] = v
				}
			}
		case "LABEL":
			for _, kv := range keyValues(t, in.Args) {
				img.Labels[kv[0]] = expand(kv[1], args)
			}
		case "ENV":
			for _, kv := range keyValues(t, in.Args) {
				img.Env = append(img.Env, kv[0]+"="+expand(kv[1], args))
			}
		case "USER":
			img.User = expand(in.Args, args)
		case "WORKDIR":
			img.WorkDir = in.Args
		case "ENTRYPOINT":
			img.Entrypoint = execForm(in)
		case "CMD":
			img.Cmd = execForm(in)
		case "EXPOSE":
			for _, p := range strings.Fields(in.Args) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				img.Ports = append(img.Ports, p)
			}
		case "COPY":
			var c copyInstr
			var rest []string
			for _, f := range strings.Fields(in.Args) {
				if v, ok := strings.CutPrefix(f, "--from="); ok {
					c.From = v
				} else if !strings.HasPrefix(f, "--") {
					rest = append(rest, f)
				}
			}
			c.Srcs, c.Dest = rest[:len(rest)-1], rest[len(rest)-1]
			img.Copies = append(img.Copies, c)
		default:
			t.Fatalf("Dockerfile stage %s: instruction %s is not expected in a final stage (update this test and imagebuild together)", st.Name, in.Cmd)
		}
	}
	slices.Sort(img.Ports)
	return img
}

func checkDockerfile(t *testing.T, root string, images map[string]*ociImage) {
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	buildArgs := map[string]string{"VERSION": testVersion, "REVISION": testRevision}
	for _, w := range wantImages {
		st := stages[w.Name]
		if st == nil {
			t.Errorf("Dockerfile has no stage %q", w.Name)
			continue
		}
		if st.From != "scratch" {
			t.Errorf("Dockerfile stage %s is FROM %s, want scratch (the images hold nothing but their files)", w.Name, st.From)
		}
		d := describe(t, st, buildArgs)
		c := images[w.Name].Config.Config
		if d.User != c.User {
			t.Errorf("%s: Dockerfile USER %q, image %q", w.Name, d.User, c.User)
		}
		if d.WorkDir != c.WorkingDir {
			t.Errorf("%s: Dockerfile WORKDIR %q, image %q", w.Name, d.WorkDir, c.WorkingDir)
		}
		if !stringsEqual(d.Entrypoint, c.Entrypoint) || !stringsEqual(d.Cmd, c.Cmd) {
			t.Errorf("%s: Dockerfile ENTRYPOINT %q CMD %q, image %q %q", w.Name, d.Entrypoint, d.Cmd, c.Entrypoint, c.Cmd)
		}
		if !stringsEqual(d.Env, c.Env) {
			t.Errorf("%s: Dockerfile ENV %q, image %q", w.Name, d.Env, c.Env)
		}
		if ports := slices.Sorted(maps.Keys(c.ExposedPorts)); !stringsEqual(d.Ports, ports) {
			t.Errorf("%s: Dockerfile EXPOSE %q, image %q", w.Name, d.Ports, ports)
		}
		if !maps.Equal(d.Labels, c.Labels) {
			t.Errorf("%s: Dockerfile LABELs\n  %v\nimage\n  %v", w.Name, d.Labels, c.Labels)
		}
		checkCopies(t, root, stages, w, d, images[w.Name])
	}
	checkBuilder(t, root, stages["builder"])
}

// checkCopies: each COPY of the final stage is one layer of the image, in
// order, holding what that COPY brings.
func checkCopies(t *testing.T, root string, stages map[string]*stage, w wantImage, d imageOfStage, img *ociImage) {
	t.Helper()
	if len(d.Copies) != len(img.Layers) {
		t.Errorf("%s: Dockerfile has %d COPY, image %d layers", w.Name, len(d.Copies), len(img.Layers))
		return
	}
	for i, c := range d.Copies {
		var files []string
		for _, e := range img.Layers[i] {
			if e.Type == tar.TypeReg {
				files = append(files, "/"+path.Clean(e.Name))
			}
		}
		slices.Sort(files)
		switch {
		case c.Dest == "/":
			// The shared files: the rootfs stage copies imagebuild's rootfs
			// directory and the CA bundle, as imagebuild does.
			checkRootfsStage(t, stages[c.From])
			want := []string{"/etc/ssl/certs/ca-certificates.crt"}
			for _, f := range wantFiles(t, root, w)[0] {
				if !strings.HasSuffix(f, "/") && f != "etc/ssl/certs/ca-certificates.crt" {
					want = append(want, "/"+f)
				}
			}
			slices.Sort(want)
			if !stringsEqual(files, want) {
				t.Errorf("%s: COPY --from=%s %v / brings %q, image layer %d holds %q", w.Name, c.From, c.Srcs, want, i, files)
			}
		case c.Dest == w.Entrypoint[0]:
			if !stringsEqual(files, []string{c.Dest}) {
				t.Errorf("%s: COPY to %s is the binary, image layer %d holds %q", w.Name, c.Dest, i, files)
			}
			if c.From != "builder" || len(c.Srcs) != 1 || path.Base(c.Srcs[0]) != w.Binary {
				t.Errorf("%s: the binary comes from %s %v, want the builder's %s", w.Name, c.From, c.Srcs, w.Binary)
			}
		case w.Contexts && c.Dest == "/contexts":
			if !slices.Contains(d.Env, "CLR_SERVER_CONTEXTS="+c.Dest) {
				t.Errorf("%s: contexts copied to %s, but ENV %q does not point there", w.Name, c.Dest, d.Env)
			}
			if len(files) == 0 {
				t.Errorf("%s: image layer %d for the contexts holds no file", w.Name, i)
			}
			for _, f := range files {
				if !strings.HasPrefix(f, c.Dest+"/") {
					t.Errorf("%s: image layer %d (COPY to %s) holds %s", w.Name, i, c.Dest, f)
				}
			}
			if !stageRuns(stages[c.From], "contexts fetch --dir "+c.Srcs[0]) || !stageRuns(stages[c.From], "contexts verify --dir "+c.Srcs[0]) {
				t.Errorf("%s: stage %s does not fetch and verify the pinned contexts into %s", w.Name, c.From, c.Srcs[0])
			}
		default:
			t.Errorf("%s: COPY %v %s has no counterpart in the image (layer %d holds %q)", w.Name, c.Srcs, c.Dest, i, files)
		}
	}
}

func stageRuns(st *stage, s string) bool {
	if st == nil {
		return false
	}
	for _, in := range st.Instrs {
		if in.Cmd == "RUN" && strings.Contains(strings.Join(strings.Fields(in.Args), " "), s) {
			return true
		}
	}
	return false
}

func checkRootfsStage(t *testing.T, st *stage) {
	t.Helper()
	if st == nil {
		t.Fatal("Dockerfile: the stage copied to / does not exist")
	}
	copiesRootfs := false
	for _, in := range st.Instrs {
		if in.Cmd == "COPY" && strings.Join(strings.Fields(in.Args), " ") == imagebuildPath+"/rootfs/ /rootfs/" {
			copiesRootfs = true
		}
	}
	if !copiesRootfs {
		t.Errorf("Dockerfile stage %s does not COPY %s/rootfs/ /rootfs/", st.Name, imagebuildPath)
	}
	if !stageRuns(st, "cp "+caBundle+" /rootfs"+caBundle) {
		t.Errorf("Dockerfile stage %s does not copy the CA bundle %s", st.Name, caBundle)
	}
}

// checkBuilder: the builder compiles as imagebuild does and copies every
// directory of the repository the binaries are built from.
func checkBuilder(t *testing.T, root string, st *stage) {
	t.Helper()
	if st == nil {
		t.Fatal("Dockerfile has no builder stage")
	}
	const build = `go build -trimpath -buildvcs=false -ldflags="-s -w -X github.com/learnerrecords/clr-operator/internal/buildinfo.version=${VERSION} -X github.com/learnerrecords/clr-operator/internal/buildinfo.revision=${REVISION}"`
	if !stageRuns(st, build) {
		t.Errorf("Dockerfile builder does not build with %s as imagebuild does", build)
	}
	copied := map[string]bool{}
	static := false
	for _, in := range st.Instrs {
		switch in.Cmd {
		case "COPY":
			f := strings.Fields(in.Args)
			for _, src := range f[:len(f)-1] {
				copied[strings.TrimSuffix(src, "/")] = true
			}
		case "ENV":
			for _, kv := range keyValues(t, in.Args) {
				if kv == [2]string{"CGO_ENABLED", "0"} {
					static = true
				}
			}
		}
	}
	if !static {
		t.Error("Dockerfile builder does not set CGO_ENABLED=0")
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./cmd/manager", "./cmd/clr-server")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		top := strings.Split(filepath.ToSlash(rel), "/")[0]
		if !copied[top] {
			t.Errorf("Dockerfile builder does not COPY %s/, which the binaries are built from (%s)", top, rel)
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !copied[f] {
			t.Errorf("Dockerfile builder does not COPY %s", f)
		}
	}
}
