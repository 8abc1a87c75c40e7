package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func run(o options) error {
	work, err := os.MkdirTemp("", "imagebuild-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// Binaries, per platform.
	bins := map[platform]string{}
	for _, p := range o.platforms {
		dir := filepath.Join(work, p.OS+"-"+p.Arch)
		if err := goBuild(o.root, p, dir, specs, o.version, o.revision); err != nil {
			return err
		}
		bins[p] = dir
	}
	hostDir, ok := bins[hostPlatform()]
	if !ok {
		hostDir = filepath.Join(work, "host")
		if err := goBuild(o.root, hostPlatform(), hostDir, []imageSpec{serverSpec()}, o.version, o.revision); err != nil {
			return err
		}
	}
	hostServer := filepath.Join(hostDir, serverSpec().Binary)

	// The contexts, checked against the pins by clr-server itself.
	src, err := resolveContexts(o.root, o.contextsDir, hostServer)
	if err != nil {
		return err
	}
	contextFiles, err := stageContexts(hostServer, src, filepath.Join(work, "contexts"))
	if err != nil {
		return err
	}
	logf("%d pinned JSON-LD contexts from %s verified", len(contextFiles), src)

	// Layers shared by every image and platform.
	baseFiles, err := rootfsFiles(o.rootfsDir)
	if err != nil {
		return err
	}
	baseFiles = append(baseFiles, file{Path: "etc/ssl/certs/ca-certificates.crt", Source: o.caBundle, Mode: 0o644})
	base, err := layerFromFiles(baseFiles, o.created)
	if err != nil {
		return fmt.Errorf("base layer: %w", err)
	}
	contexts, err := layerFromFiles(contextFiles, o.created)
	if err != nil {
		return fmt.Errorf("contexts layer: %w", err)
	}

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for _, s := range specs {
		ref, err := name.NewTag(o.refs[s.Name])
		if err != nil {
			return fmt.Errorf("-%s-image: %w", s.Name, err)
		}
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		images := map[platform]v1.Image{}
		for _, p := range o.platforms {
			bin, err := layerFromFiles([]file{{Path: s.Binary, Source: filepath.Join(bins[p], s.Binary), Mode: 0o755}}, o.created)
			if err != nil {
				return fmt.Errorf("%s binary layer: %w", s.Name, err)
			}
			layers := []mutate.Addendum{
				{Layer: base, MediaType: types.OCILayer, History: history(o, "COPY rootfs / # passwd, group, CA certificates")},
			}
			if s.Contexts {
				layers = append(layers, mutate.Addendum{Layer: contexts, MediaType: types.OCILayer,
					History: history(o, "COPY contexts "+contextsPath+" # pinned JSON-LD contexts, verified")})
			}
			layers = append(layers, mutate.Addendum{Layer: bin, MediaType: types.OCILayer,
				History: history(o, "COPY "+s.Binary+" /"+s.Binary)})
			img, err := assemble(o, s, p, layers)
			if err != nil {
				return fmt.Errorf("%s %s: %w", s.Name, p, err)
			}
			images[p] = img
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
				Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}}})
		}
		if err := validate.Index(idx); err != nil {
			return fmt.Errorf("%s: invalid index: %w", s.Name, err)
		}
		if err := writeLayout(filepath.Join(o.out, s.Name), idx, ref); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		digest, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("%-10s %s  %s (index, %s)\n", s.Name, digest, filepath.Join(o.out, s.Name), ref)
		for _, p := range o.platforms {
			d, err := images[p].Digest()
			if err != nil {
				return err
			}
			line := fmt.Sprintf("%-10s %s  %s", "", d, p)
			if o.dockerTarballs {
				tarPath := filepath.Join(o.out, s.Name+"-"+p.OS+"-"+p.Arch+".tar")
				if err := writeAtomically(tarPath, func(tmp string) error { return tarball.WriteToFile(tmp, ref, images[p]) }); err != nil {
					return fmt.Errorf("%s %s docker tarball: %w", s.Name, p, err)
				}
				line += "  " + tarPath
			}
			fmt.Println(line)
		}
	}
	return nil
}

func serverSpec() imageSpec {
	for _, s := range specs {
		if s.Contexts {
			return s
		}
	}
	panic("imagebuild: no clr-server spec")
}

// buildinfoPkg holds the version and revision the binaries report
// (`clr-server version`, `manager --version`, the *_build_info metrics).
const buildinfoPkg = "github.com/learnerrecords/clr-operator/internal/buildinfo"

// goBuild compiles the specs' binaries for p into dir as the Dockerfile
// does: static (CGO_ENABLED=0), -trimpath, no VCS stamp (a dirty work tree
// must not change the binary: the revision is stamped explicitly, as in the
// labels), stripped.
func goBuild(root string, p platform, dir string, ss []imageSpec, version, revision string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ldflags := "-s -w -X " + buildinfoPkg + ".version=" + version + " -X " + buildinfoPkg + ".revision=" + revision
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=" + ldflags, "-o", dir + string(os.PathSeparator)}
	for _, s := range ss {
		args = append(args, s.Package)
	}
	logf("go %s (%s)", strings.Join(args, " "), p)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", p, err)
	}
	for _, s := range ss {
		if _, err := os.Stat(filepath.Join(dir, s.Binary)); err != nil {
			return fmt.Errorf("go build for %s: %w", p, err)
		}
	}
	return nil
}

// rootfsFiles lists the regular files under the rootfs directory (the
// Dockerfile copies the same directory), all 0644.
func rootfsFiles(dir string) ([]file, error) {
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("rootfs: %s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, file{Path: filepath.ToSlash(rel), Source: p, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rootfs %s: %w", dir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

func history(o options, createdBy string) v1.History {
	return v1.History{Created: v1.Time{Time: o.created}, CreatedBy: createdBy, Comment: "imagebuild"}
}

// assemble makes one platform's image: OCI media types, the layers, and
// the config the Dockerfile's stage gives (user, entrypoint, command,
// environment, ports, working directory, labels).
func assemble(o options, s imageSpec, p platform, layers []mutate.Addendum) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.Append(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Arch
	cf.Created = v1.Time{Time: o.created}
	cf.Config = v1.Config{
		User:       user,
		Entrypoint: s.Entrypoint,
		Cmd:        s.Cmd,
		Env:        s.Env,
		WorkingDir: "/",
		Labels:     s.labels(o.version, o.revision),
	}
	if len(s.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, port := range s.ExposedPorts {
			cf.Config.ExposedPorts[port] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

// writeLayout replaces dir with an OCI image layout holding idx, named by
// ref (as BuildKit's OCI exporter names it), and reads it back.
func writeLayout(dir string, idx v1.ImageIndex, ref name.Tag) error {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
		"io.containerd.image.name":          ref.Name(),
	})); err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	back, err := layout.ImageIndexFromPath(tmp)
	if err != nil {
		return fmt.Errorf("OCI layout: read back: %w", err)
	}
	m, err := back.IndexManifest()
	if err != nil {
		return fmt.Errorf("OCI layout: read back: %w", err)
	}
	if len(m.Manifests) != 1 {
		return fmt.Errorf("OCI layout: read back %d entries, want 1", len(m.Manifests))
	}
	want, err := idx.Digest()
	if err != nil {
		return err
	}
	if m.Manifests[0].Digest != want {
		return fmt.Errorf("OCI layout: wrote index %s, read back %s", want, m.Manifests[0].Digest)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// writeAtomically writes path through a temporary file, so that a failed
// build leaves no half-written tarball.
func writeAtomically(path string, write func(tmp string) error) error {
	tmp := path + ".tmp"
	if err := write(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
