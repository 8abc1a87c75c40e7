// Package issuingtest runs the issuing side of clr-server for tests and
// benchmarks: a real store (SQLite, or PostgreSQL given a DSN), real signing
// keys on disk, the real OAuth 2.0 server (client-credentials tokens for a
// registrar client) and the issuing, status and public handlers, on an
// httptest server on loopback.
package issuingtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/verify"
	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
	"github.com/learnerrecords/clr-operator/internal/publicsite"
	"github.com/learnerrecords/clr-operator/internal/repo"
	"github.com/learnerrecords/clr-operator/internal/server/app"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/signing"
	"github.com/learnerrecords/clr-operator/internal/statuslist"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Issuer and client names used by the harness.
const (
	IssuerName      = "state-u"
	RegistrarID     = "registrar"
	FrameworkName   = "aacu-values"
	registrarSecret = "registrar-secret-0123456789"
)

// Options tune the harness.
type Options struct {
	// Algorithm of the signing key (default Ed25519).
	Algorithm string
	// ProofFormats of the issuer (default VC-JWT then DataIntegrity).
	ProofFormats []string
	// PostgresDSN selects PostgreSQL instead of SQLite.
	PostgresDSN string
	// AllStatusEntries issues the three-entry credentialStatus array.
	AllStatusEntries bool
	// Authority is the issuer's accreditations and legal authority.
	Authority []serverconfig.Authority
}

// Env is a running host.
type Env struct {
	URL      string
	Server   *httptest.Server
	Store    store.Store
	Host     *issuing.Host
	Site     *publicsite.Site
	OAuth    *oauth.Server
	Keys     *signing.Set
	Config   *serverconfig.Config
	KeyDir   string
	Metrics  *app.Metrics
	Registry *prometheus.Registry
	// AllStatusEntries: credentials carry the three-entry status array.
	AllStatusEntries bool
	// Registrar is an HTTP client carrying a client-credentials token with
	// every issuing scope.
	Registrar *http.Client
}

// TB is the subset of testing.TB the harness needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// ContextsDir is ../shared/clr/contexts relative to the repository root.
func ContextsDir() (string, error) {
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "clr", "contexts"), nil
}

// SampleFramework is a small AAC&U VALUE-like framework with a child
// competency and three levels.
func SampleFramework() serverconfig.Framework {
	return serverconfig.Framework{
		Name: FrameworkName, Title: "Essential Learning Outcomes", Version: "2026",
		Description: "The institution's learning framework.",
		Levels: []serverconfig.FrameworkLevel{
			{ID: "exposure", Name: "Exposure"},
			{ID: "integration", Name: "Integration"},
			{ID: "transformation", Name: "Transformation"},
		},
		Competencies: []serverconfig.Competency{
			{ID: "critical-thinking", HumanCode: "CT", Name: "Critical Thinking"},
			{ID: "ct-evidence", HumanCode: "CT.2", Name: "Use of evidence", Parent: "critical-thinking"},
			{ID: "written-communication", HumanCode: "WC", Name: "Written Communication"},
			{ID: "ethical-reasoning", HumanCode: "ER", Name: "Ethical Reasoning"},
			{ID: "global-learning", HumanCode: "GL", Name: "Global Learning"},
		},
	}
}

func secret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// WriteKey writes a new PEM private key of algorithm into dir/tls.key.
func WriteKey(dir, algorithm string) error {
	k, err := keys.Generate(algorithm)
	if err != nil {
		return err
	}
	pemBytes, err := keys.MarshalPrivateKeyPEM(k)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".tls.key.tmp")
	if err := os.WriteFile(tmp, pemBytes, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, signing.KeyFile))
}

// Start runs a host; it is stopped by t.Cleanup.
func Start(t TB, opts Options) *Env {
	t.Helper()
	if opts.Algorithm == "" {
		opts.Algorithm = keys.Ed25519
	}
	if len(opts.ProofFormats) == 0 {
		opts.ProofFormats = []string{"VC-JWT", "DataIntegrity"}
	}
	contexts, err := ContextsDir()
	if err != nil {
		t.Fatalf("contexts: %v", err)
	}
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	if err := WriteKey(keyDir, opts.Algorithm); err != nil {
		t.Fatalf("key: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	base := srv.URL

	fw := SampleFramework()
	cfg := &serverconfig.Config{
		APIVersion: serverconfig.APIVersion,
		Server:     serverconfig.Server{Listen: srv.Listener.Addr().String(), PublicURL: base, DataDir: dir},
		Issuers: []serverconfig.Issuer{{
			Name:      IssuerName,
			Profile:   map[string]any{"name": "State University", "url": "https://www.state-u.example", "email": "registrar@state-u.example"},
			Signing:   serverconfig.Signing{Algorithm: opts.Algorithm, KeyDir: keyDir, ProofFormats: opts.ProofFormats},
			Authority: opts.Authority,
		}},
		ContextsDir: contexts,
	}
	secrets := &serverconfig.InternalSecrets{SessionKey: secret(), TokenPepper: secret(), ShareLinkKey: secret(),
		ClientSecrets: map[string]string{RegistrarID: registrarSecret}}

	ctx := context.Background()
	var st store.Store
	if opts.PostgresDSN != "" {
		st, err = store.OpenPostgres(ctx, opts.PostgresDSN, store.PostgresOptions{})
	} else {
		st, err = store.OpenSQLite(ctx, filepath.Join(dir, "clr.db"), store.SQLiteOptions{})
	}
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ks, err := signing.Load(cfg.Issuers, nil, nil)
	if err != nil {
		t.Fatalf("signing keys: %v", err)
	}
	reg := prometheus.NewRegistry()
	metrics := app.NewMetrics(reg)
	log := slog.New(slog.DiscardHandler)
	deps := &app.Deps{Config: cfg, Secrets: secrets, Frameworks: map[string]*serverconfig.Framework{fw.Name: &fw},
		Store: st, Keys: ks, Logger: log, Metrics: metrics, Registry: reg, Now: time.Now,
		PublicURL: base, ContextsDir: contexts}
	if opts.AllStatusEntries {
		cfg.CredentialStatus.Entries = serverconfig.StatusEntriesAll
	}
	host, err := issuing.NewHost(deps)
	if err != nil {
		t.Fatalf("issuing host: %v", err)
	}
	oa, err := oauth.New(oauth.Options{PublicURL: base, Dev: true, DynamicRegistration: true,
		IssuingClients: []oauth.IssuingClient{{ID: RegistrarID, Secret: registrarSecret, Scopes: oauth.IssuingScopes}},
		SessionKey:     publicsite.DecodeKey(secrets.SessionKey), TokenPepper: publicsite.DecodeKey(secrets.TokenPepper), Logger: log}, st)
	if err != nil {
		t.Fatalf("oauth: %v", err)
	}
	site, err := publicsite.New(host, oa, publicsite.Options{ShareLinkKey: publicsite.DecodeKey(secrets.ShareLinkKey),
		ContextsDir: contexts, Logger: log, Verifications: metrics.Verifications})
	if err != nil {
		t.Fatalf("public site: %v", err)
	}
	mux := http.NewServeMux()
	oa.Register(mux)
	issuing.NewHandler(host.Issuing, oa, "", 0, log).Register(mux)
	sh := statuslist.NewHandler(host.Status, oa, "", log)
	sh.OnChange(func(a string) { metrics.StatusChanges.WithLabelValues(a).Inc() })
	sh.Register(mux)
	site.Register(mux)
	srv.Config.Handler = mux

	cc := clientcredentials.Config{ClientID: RegistrarID, ClientSecret: registrarSecret, TokenURL: base + oauth.PathToken, Scopes: oauth.IssuingScopes}
	registrar := cc.Client(context.WithValue(ctx, oauth2.HTTPClient, srv.Client()))
	return &Env{URL: base, Server: srv, Store: st, Host: host, Site: site, OAuth: oa, Keys: ks, Config: cfg, KeyDir: keyDir,
		Metrics: metrics, Registry: reg, Registrar: registrar, AllStatusEntries: opts.AllStatusEntries}
}

// Failures lists the failed checks of a verification report as
// "path: check/code: message". In the three-entry status mode the host's
// verifier accepts the credentialStatus set with a warning
// (verify.Options.AllowStatusSet), so no allowance is needed here.
func Failures(rep *verify.Report) []string {
	var out []string
	for _, c := range rep.Credentials {
		for _, ch := range c.Checks {
			if ch.Status == verify.Fail {
				out = append(out, c.Path+": "+ch.Check+"/"+string(ch.Code)+": "+ch.Message)
			}
		}
	}
	if len(rep.Credentials) == 0 {
		out = append(out, "no credential in the report")
	}
	return out
}

// FailuresFor is Failures (kept for the tests written against the env).
func (e *Env) FailuresFor(rep *verify.Report) []string { return Failures(rep) }

// Learner registers a client (RFC 7591), logs learner in through the
// development login with PKCE, and returns an HTTP client carrying the
// learner's access token (authorization code grant) with scopes.
func (e *Env) Learner(t TB, learner string, scopes ...string) *http.Client {
	t.Helper()
	if len(scopes) == 0 {
		scopes = oauth.CLRScopes
	}
	ctx := context.Background()
	const redirect = "http://127.0.0.1/callback"
	resp, code, err := oauthtest.Register(ctx, e.URL+oauth.PathRegister, map[string]any{
		"client_name": "Learner Wallet", "client_uri": "https://wallet.example", "redirect_uris": []string{redirect}, "scope": strings.Join(scopes, " "),
	})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("register: %d %v %v", code, resp, err)
	}
	cfg := oauth2.Config{ClientID: resp["client_id"].(string), ClientSecret: resp["client_secret"].(string), RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + oauth.PathAuthorize, TokenURL: e.URL + oauth.PathToken, AuthStyle: oauth2.AuthStyleInHeader}}
	v := oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(ctx, oauthtest.Browser(), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), learner)
	if err != nil {
		t.Fatalf("dev login: %v", err)
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return cfg.Client(ctx, tok)
}
