// Package app holds what clr-server's HTTP handler packages share: the
// dependencies the server assembles once at start (Deps) and the metrics
// they record. It imports no handler package, so the OAuth/CLR API and the
// issuing/public packages can import it without cycles, and internal/server
// mounts them through the Handler contract.
package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/learnerrecords/clr-operator/internal/buildinfo"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/signing"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Handler is the contract of a handler package: New(deps) returns one and
// the server calls Register once with its mux. Patterns use Go 1.22 method
// and wildcard syntax ("GET /ims/clr/v2p0/credentials"); paths are relative
// to the server root (BasePath is "" unless PublicURL has a path prefix, in
// which case handlers prepend Deps.BasePath).
type Handler interface {
	Register(mux *http.ServeMux)
}

// Deps is what every handler may use. All fields are set by the server
// before New is called; handlers must not replace them.
type Deps struct {
	// Config is the validated configuration (defaults applied).
	Config *serverconfig.Config
	// Secrets are the generated internal secrets (session key, token
	// pepper, share link key, issuing clients' secrets).
	Secrets *serverconfig.InternalSecrets
	// Frameworks by name, loaded from Config.Frameworks.
	Frameworks map[string]*serverconfig.Framework
	// Store is the database.
	Store store.Store
	// Keys holds each issuer's current signing key and published keys,
	// reloaded when the files change.
	Keys *signing.Set
	// Logger writes JSON logs; never log secrets, tokens or keys.
	Logger *slog.Logger
	// Metrics are the shared collectors; Registry is where handler
	// packages may register more.
	Metrics  *Metrics
	Registry prometheus.Registerer
	// Now is the clock (time.Now outside tests).
	Now func() time.Time
	// PublicURL is Config.Server.PublicURL (no trailing slash); BasePath
	// is its path component ("" or "/prefix") under which routes live.
	PublicURL string
	BasePath  string
	// ContextsDir is the directory of pinned JSON-LD contexts.
	ContextsDir string
	// MemoryLimit is the container's memory limit in bytes
	// ($CLR_MEMORY_LIMIT, from the downward API), 0 when unknown; caches
	// size themselves from it.
	MemoryLimit int64
	// BodyLimits overrides Config.Server.MaxBodyBytes for exact routes,
	// keyed "METHOD /path" (e.g. a streamed bulk endpoint); a handler
	// package's mount may add to it. 0 means no limit.
	BodyLimits map[string]int64
}

// Metrics are the application collectors recorded by the handlers. The
// HTTP request metrics are recorded by the server's middleware, and gauges
// derived from state (status-list age, key not-after, OAuth clients) are
// computed at scrape time by the server; handlers only count events.
type Metrics struct {
	// CredentialsIssued counts signed credentials by type
	// (ClrCredential, AchievementCredential, ...) and format
	// ("VC-JWT", "DataIntegrity").
	CredentialsIssued *prometheus.CounterVec
	// Verifications counts verifications by result ("valid", "invalid")
	// and reason (a short fixed vocabulary, never free text).
	Verifications *prometheus.CounterVec
	// SigningSeconds observes one signature by suite (e.g. "EdDSA",
	// "ES256", "eddsa-rdfc-2022").
	SigningSeconds *prometheus.HistogramVec
	// TokensIssued counts OAuth tokens by grant type.
	TokensIssued *prometheus.CounterVec
	// StatusChanges counts revocations/suspensions/reinstatements by action.
	StatusChanges *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		CredentialsIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clr", Name: "credentials_issued_total",
			Help: "Credentials signed by this host, by credential type and proof format.",
		}, []string{"type", "format"}),
		Verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clr", Name: "verifications_total",
			Help: "Credential verifications, by result and reason.",
		}, []string{"result", "reason"}),
		SigningSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "clr", Name: "signing_duration_seconds",
			Help:    "Time to sign one credential, by suite.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"suite"}),
		TokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clr", Name: "oauth_tokens_issued_total",
			Help: "OAuth 2.0 access tokens issued, by grant type.",
		}, []string{"grant_type"}),
		StatusChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clr", Name: "credential_status_changes_total",
			Help: "Revocations, suspensions and reinstatements, by action.",
		}, []string{"action"}),
	}
	reg.MustRegister(m.CredentialsIssued, m.Verifications, m.SigningSeconds, m.TokensIssued, m.StatusChanges,
		buildinfo.Collector("clr_server_build_info", "clr-server's release version, source revision and Go version (always 1)."))
	return m
}
