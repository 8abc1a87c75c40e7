package main

// The two images, as the Dockerfile's final stages describe them. A change
// here needs the same change there: test/image checks that both agree
// (user, entrypoint, command, environment, ports, working directory,
// labels and the files each stage copies).

const (
	// user is the numeric non-root user and group both images run as (the
	// operator's pod templates set the same runAsUser).
	user = "65532:65532"
	// pathEnv is the PATH BuildKit gives an image built FROM scratch; the
	// Dockerfile sets it explicitly so that both paths agree.
	pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// contextsPath is where the clr-server image holds its pinned JSON-LD
	// contexts.
	contextsPath = "/contexts"
	// sourceURL is the repository, for the org.opencontainers.image.source label.
	sourceURL = "https://github.com/learnerrecords/clr-operator"
	licenses  = "Apache-2.0"
)

// imageSpec is one image: which binary, how it starts, what it says about itself.
type imageSpec struct {
	// Name is the Dockerfile target and the output name under -out.
	Name string
	// Package is the Go main package of the binary.
	Package string
	// Binary is the file name of the binary at the image's root.
	Binary       string
	Title        string
	Description  string
	Entrypoint   []string
	Cmd          []string
	Env          []string
	ExposedPorts []string
	// Contexts adds the pinned JSON-LD contexts at contextsPath.
	Contexts bool
}

var specs = []imageSpec{
	{
		Name:        "manager",
		Package:     "./cmd/manager",
		Binary:      "manager",
		Title:       "clr-operator",
		Description: "Kubernetes operator hosting Comprehensive Learner Records (CLR 2.0) for many institutions",
		Entrypoint:  []string{"/manager"},
		Env:         []string{pathEnv},
	},
	{
		Name:        "clr-server",
		Package:     "./cmd/clr-server",
		Binary:      "clr-server",
		Title:       "clr-server",
		Description: "Comprehensive Learner Record (CLR 2.0 / Open Badges 3.0) host: issuing, the CLR REST API with OAuth 2.0, verification",
		Entrypoint:  []string{"/clr-server"},
		Cmd:         []string{"serve"},
		// The operator's rendered config sets no contextsDir: the image
		// says where its pinned contexts are.
		Env:          []string{pathEnv, "CLR_SERVER_CONTEXTS=" + contextsPath},
		ExposedPorts: []string{"8080/tcp", "9090/tcp"},
		Contexts:     true,
	},
}

// labels are the OCI annotations of an image's config.
func (s imageSpec) labels(version, revision string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       s.Title,
		"org.opencontainers.image.description": s.Description,
		"org.opencontainers.image.source":      sourceURL,
		"org.opencontainers.image.licenses":    licenses,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.revision":    revision,
	}
}
