// Package buildinfo says which build of clr-operator is running: the
// release version and source revision stamped by the build (-ldflags -X, as
// `make build`, `make images` and the Dockerfile do), falling back to what
// the Go toolchain recorded, and a Prometheus build_info gauge for each
// binary, so an SRE can tell which tenants run which release.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Set with -ldflags "-X <package>.version=v1.2.3 -X <package>.revision=<sha>".
var (
	version  string
	revision string
)

// Info is one build's identity.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Get returns the running binary's build identity.
func Get() Info {
	i := Info{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if i.Revision == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					i.Revision = s.Value
				}
			}
		}
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	return i
}

// String is "VERSION (revision REV, GOVERSION)".
func (i Info) String() string {
	rev := i.Revision
	if rev == "" {
		rev = "unknown"
	}
	return fmt.Sprintf("%s (revision %s, %s)", i.Version, rev, i.GoVersion)
}

// Collector is the constant gauge NAME{version,revision,goversion} 1.
func Collector(name, help string) prometheus.Collector {
	i := Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        name,
		Help:        help,
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion},
	})
	g.Set(1)
	return g
}
