// Command imagebuild builds the operator and clr-server container images
// without a container engine: it cross-compiles the static binaries and
// assembles each image from scratch (no base image is pulled) with
// go-containerregistry, writing
//
//	OUT/<image>/                     an OCI image layout holding one multi-platform index
//	                                 (`crane push OUT/<image> REF`, `skopeo copy oci:OUT/<image> ...`)
//	OUT/<image>-<os>-<arch>.tar      a `docker load` tarball per platform, tagged with the image reference
//
// for the images "manager" and "clr-server", the Dockerfile's targets,
// which describe the same images for builds with Docker/BuildKit. The same
// inputs (source, Go version, CA bundle, contexts, flags, SOURCE_DATE_EPOCH)
// give the same digests.
//
// It is its own Go module so that the operator's module does not depend on
// go-containerregistry; run it from the repository root (`make images`):
//
//	(cd hack/tools/imagebuild && go build -o ../../../bin/tools/imagebuild .)
//	bin/tools/imagebuild -out bin/images -platforms linux/amd64,linux/arm64
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "imagebuild: "+format+"\n", args...)
}

type options struct {
	root           string
	out            string
	platforms      []platform
	version        string
	revision       string
	refs           map[string]string
	contextsDir    string
	caBundle       string
	rootfsDir      string
	created        time.Time
	dockerTarballs bool
}

func main() {
	var (
		o         options
		platforms string
		managerRf string
		serverRf  string
	)
	flag.StringVar(&o.root, "repo", ".", "repository root (the directory holding the operator's go.mod)")
	flag.StringVar(&o.out, "out", "bin/images", "output directory")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list of the index")
	flag.StringVar(&o.version, "version", "dev", "org.opencontainers.image.version label")
	flag.StringVar(&o.revision, "revision", "", "org.opencontainers.image.revision label (the source commit)")
	flag.StringVar(&managerRf, "manager-image", "ghcr.io/learnerrecords/clr-operator:dev", "reference of the operator image (docker tarball tag, layout ref name)")
	flag.StringVar(&serverRf, "clr-server-image", "ghcr.io/learnerrecords/clr-server:dev", "reference of the clr-server image")
	flag.StringVar(&o.contextsDir, "contexts", "", "directory of the pinned JSON-LD contexts (default: ../shared/clr/contexts, else .cache/clr-contexts, fetched when missing)")
	flag.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates bundle for /etc/ssl/certs/ca-certificates.crt (Debian's ca-certificates)")
	flag.BoolVar(&o.dockerTarballs, "docker-tarballs", true, "also write a `docker load` tarball per platform")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "Usage: imagebuild [flags]   (from the repository root; SOURCE_DATE_EPOCH sets the images' timestamps, default 0)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	o.refs = map[string]string{"manager": managerRf, "clr-server": serverRf}
	var err error
	if o.platforms, err = parsePlatforms(platforms); err != nil {
		fatal(err)
	}
	if o.root, err = filepath.Abs(o.root); err != nil {
		fatal(err)
	}
	if _, err := os.Stat(filepath.Join(o.root, "cmd", "clr-server")); err != nil {
		fatal(fmt.Errorf("-repo %s is not the clr-operator repository root: %w", o.root, err))
	}
	o.rootfsDir = filepath.Join(o.root, "hack", "tools", "imagebuild", "rootfs")
	// Reproducible builds' convention: the commit time, or 0.
	o.created = time.Unix(0, 0).UTC()
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			fatal(fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a Unix time", v))
		}
		o.created = time.Unix(sec, 0).UTC()
	}
	if err := run(o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "imagebuild: %v\n", err)
	os.Exit(1)
}

type platform struct{ OS, Arch string }

func (p platform) String() string { return p.OS + "/" + p.Arch }

func parsePlatforms(s string) ([]platform, error) {
	var out []platform
	seen := map[platform]bool{}
	for _, f := range strings.Split(s, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || osName != "linux" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("-platforms: %q is not linux/ARCH", f)
		}
		p := platform{osName, arch}
		if seen[p] {
			return nil, fmt.Errorf("-platforms: %s twice", p)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

func hostPlatform() platform { return platform{runtime.GOOS, runtime.GOARCH} }
