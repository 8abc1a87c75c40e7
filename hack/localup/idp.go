package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/localidp"
)

// idpProcess is the name of the local OpenID Connect provider's process.
const idpProcess = "oidc-provider"

// idpReloadPeriod is how often the local provider looks for a new
// configuration file (the kubelet's registrations).
const idpReloadPeriod = 500 * time.Millisecond

// sampleLearner is the learner every realm knows by name (the login form
// lists her) and the one `localup demo` signs in as.
var sampleLearner = localidp.User{Username: "maya.lindqvist", Name: "Maya Lindqvist"}

// idpPlan is the local OpenID Connect provider local-up runs for the
// samples' tenants, whose own providers (Keycloak, Okta...) are outside
// hosts: each CLRProvider's namespace becomes a realm, with the tenant's
// client id, the client secret local-up put in its Secret and its public
// callback URL.
type idpPlan struct {
	dir    string
	cfg    localidp.Config
	realms []oidcRealmState
}

// oidcState is what state.json records about the local provider (for
// status, demo and the e2e suite).
type oidcState struct {
	BaseURL string `json:"baseURL"`
	// CAFile is the PEM certificate clients trust the provider with.
	CAFile string           `json:"caFile"`
	Realms []oidcRealmState `json:"realms"`
}

// oidcRealmState is one tenant's sign-in at the local provider.
type oidcRealmState struct {
	Provider      types.NamespacedName `json:"provider"`
	Realm         string               `json:"realm"`
	Issuer        string               `json:"issuer"`
	ClientID      string               `json:"clientID"`
	UsernameClaim string               `json:"usernameClaim"`
	EmailDomain   string               `json:"emailDomain"`
	// SampleLearner is the username the login form suggests.
	SampleLearner string `json:"sampleLearner"`
	// Later marks a CLRProvider applied after up, which the kubelet
	// registered because its issuerURL names a realm here.
	Later bool `json:"later,omitempty"`
}

func (l *layout) idpCAFile() string { return l.path("oidc", "tls.crt") }

// newIdPPlan makes the provider's TLS certificate (so that the tenants'
// trust bundle can include it before they start) and an empty plan.
func newIdPPlan(l *layout) (*idpPlan, error) {
	dir := l.path("oidc")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	crt, key, err := localidp.LoopbackCertificate(30 * 24 * time.Hour)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), key, 0o600); err != nil {
		return nil, err
	}
	return &idpPlan{dir: dir, cfg: localidp.Config{BaseURL: fmt.Sprintf("https://127.0.0.1:%d", portIdP)}}, nil
}

// addProvider points the CLRProvider o (about to be applied) at a realm of
// the local provider and registers its client there with the secret of
// its client-secret Secret (which must exist).
func (p *idpPlan) addProvider(ctx context.Context, c client.Client, o *unstructured.Unstructured, prov *clrv1.CLRProvider, objs []*unstructured.Unstructured) error {
	secret, err := oidcClientSecret(ctx, c, prov)
	if err != nil {
		return err
	}
	// An institution's namespace is its realm: two tenants of one
	// institution share its provider.
	rs, err := p.register(prov, prov.Namespace, institutionName(prov, objs), secret)
	if err != nil {
		return err
	}
	if err := unstructured.SetNestedField(o.Object, rs.Issuer, "spec", "oauth", "oidc", "issuerURL"); err != nil {
		return err
	}
	fmt.Printf("  %s/%s: learners sign in at the local OpenID Connect provider %s (instead of %s)\n", prov.Namespace, prov.Name, rs.Issuer, prov.Spec.OAuth.OIDC.IssuerURL)
	return nil
}

// oidcClientSecret is the OIDC client secret of prov, from the key of the
// Secret its spec names.
func oidcClientSecret(ctx context.Context, c client.Client, prov *clrv1.CLRProvider) (string, error) {
	oidc := prov.Spec.OAuth.OIDC
	key := oidc.ClientSecretRef.Key
	if key == "" {
		key = "client-secret"
	}
	sec := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: prov.Namespace, Name: oidc.ClientSecretRef.Name}, sec); err != nil {
		return "", fmt.Errorf("reading the OIDC client secret: %w", err)
	}
	secret := string(sec.Data[key])
	if secret == "" {
		return "", fmt.Errorf("Secret %s/%s has no key %s", prov.Namespace, oidc.ClientSecretRef.Name, key)
	}
	return secret, nil
}

// register adds prov's client (its client id, secret and public callback
// URL) to realm name, created when new with the sample learner, title and
// the mail domain of prov's hostname, and records the tenant's sign-in.
func (p *idpPlan) register(prov *clrv1.CLRProvider, name, title, secret string) (oidcRealmState, error) {
	oidc := prov.Spec.OAuth.OIDC
	realm := p.realm(name)
	if realm == nil {
		p.cfg.Realms = append(p.cfg.Realms, localidp.Realm{Name: name, Title: title,
			EmailDomain: emailDomain(prov.Spec.Hostname), Users: []localidp.User{sampleLearner}})
		realm = &p.cfg.Realms[len(p.cfg.Realms)-1]
	}
	redirect := strings.TrimSuffix("https://"+prov.Spec.Hostname+prov.Spec.PathPrefix, "/") + "/oauth/callback"
	if i := slices.IndexFunc(realm.Clients, func(cl localidp.Client) bool { return cl.ID == oidc.ClientID }); i >= 0 {
		if realm.Clients[i].Secret != secret {
			return oidcRealmState{}, fmt.Errorf("client %s is registered in realm %s with another secret (another CLRProvider's Secret)", oidc.ClientID, name)
		}
		if !slices.Contains(realm.Clients[i].RedirectURIs, redirect) {
			realm.Clients[i].RedirectURIs = append(realm.Clients[i].RedirectURIs, redirect)
		}
	} else {
		realm.Clients = append(realm.Clients, localidp.Client{ID: oidc.ClientID, Secret: secret, RedirectURIs: []string{redirect}})
	}
	claim := oidc.UsernameClaim
	if claim == "" {
		claim = "sub"
	}
	rs := oidcRealmState{Provider: types.NamespacedName{Namespace: prov.Namespace, Name: prov.Name}, Realm: name,
		Issuer: localidp.IssuerURL(p.cfg.BaseURL, name), ClientID: oidc.ClientID, UsernameClaim: claim,
		EmailDomain: realm.EmailDomain, SampleLearner: sampleLearner.Username}
	p.realms = append(p.realms, rs)
	return rs, nil
}

// localRealm is the realm of the local provider at baseURL that issuerURL
// names (baseURL/realms/NAME), or "".
func localRealm(baseURL, issuerURL string) string {
	name, ok := strings.CutPrefix(strings.TrimSuffix(issuerURL, "/"), localidp.IssuerURL(baseURL, ""))
	if !ok || name == "" || strings.Contains(name, "/") {
		return ""
	}
	return name
}

func (p *idpPlan) realm(name string) *localidp.Realm {
	for i := range p.cfg.Realms {
		if p.cfg.Realms[i].Name == name {
			return &p.cfg.Realms[i]
		}
	}
	return nil
}

// institutionName is the profile name of the provider's first Issuer in
// the manifests, for the login page's title.
func institutionName(prov *clrv1.CLRProvider, objs []*unstructured.Unstructured) string {
	if len(prov.Spec.IssuerRefs) > 0 {
		for _, o := range objs {
			if o.GetKind() == "Issuer" && o.GetName() == prov.Spec.IssuerRefs[0].Name && o.GetNamespace() == prov.Namespace {
				if name, _, _ := unstructured.NestedString(o.Object, "spec", "profile", "name"); name != "" {
					return name
				}
			}
		}
	}
	return prov.Namespace
}

// emailDomain is the institution's mail domain guessed from the tenant's
// hostname: records.cascadia-state.edu -> cascadia-state.edu.
func emailDomain(hostname string) string {
	labels := strings.Split(hostname, ".")
	if len(labels) > 2 {
		labels = labels[1:]
	}
	return strings.Join(labels, ".")
}

// start writes the provider's configuration and runs it in the background
// (`localup idp`), waiting until it serves the first realm's discovery.
func (p *idpPlan) start(ctx context.Context, l *layout) (*oidcState, error) {
	if len(p.cfg.Realms) == 0 {
		return nil, nil
	}
	if err := p.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("the local OpenID Connect provider's configuration: %w", err)
	}
	raw, err := json.MarshalIndent(p.cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	// Both hold the tenants' client secrets. base.json is what up planned;
	// the kubelet adds the CLRProviders applied later to it and rewrites
	// config.json, which the provider reloads.
	if err := writeFileAtomic(filepath.Join(p.dir, "base.json"), raw, 0o600); err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(p.dir, "config.json")
	if err := writeFileAtomic(cfgFile, raw, 0o600); err != nil {
		return nil, err
	}
	l.step("starting the local OpenID Connect provider on %s (%d realms)", p.cfg.BaseURL, len(p.cfg.Realms))
	if _, err := l.sup.Start(localcluster.Spec{Name: idpProcess, Path: l.binPath("localup"), Args: []string{"idp",
		"--config", cfgFile, "--listen", fmt.Sprintf("127.0.0.1:%d", portIdP),
		"--tls-cert", filepath.Join(p.dir, "tls.crt"), "--tls-key", filepath.Join(p.dir, "tls.key"),
		"--signing-key", filepath.Join(p.dir, "signing.key")}}); err != nil {
		return nil, err
	}
	hc, err := httpClientTrusting(l.idpCAFile())
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := localcluster.WaitHTTP(wctx, hc, localidp.IssuerURL(p.cfg.BaseURL, p.cfg.Realms[0].Name)+"/.well-known/openid-configuration", func() error {
		if r, err := l.sup.Get(idpProcess); err != nil || !r.Running() {
			return fmt.Errorf("the OpenID Connect provider exited; end of %s:\n%s", l.sup.LogPath(idpProcess), localcluster.TailFile(l.sup.LogPath(idpProcess), 3000))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return &oidcState{BaseURL: p.cfg.BaseURL, CAFile: l.idpCAFile(), Realms: p.realms}, nil
}

// writeFileAtomic replaces path with data (write then rename), so that a
// reader never sees half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// httpClientTrusting is an HTTP client trusting the system roots and the
// PEM certificates of caFile.
func httpClientTrusting(caFile string) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	if !roots.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}, nil
}

// runIdP serves the local OpenID Connect provider until SIGTERM (started
// in the background by up).
func runIdP(args []string) error {
	fs := flag.NewFlagSet("idp", flag.ExitOnError)
	cfgFile := fs.String("config", "", "provider configuration (JSON, internal/localidp.Config)")
	listen := fs.String("listen", "", "address to listen on")
	certFile := fs.String("tls-cert", "", "PEM certificate")
	keyFile := fs.String("tls-key", "", "PEM key of the certificate")
	signingKey := fs.String("signing-key", "", "PEM RSA key signing the ID tokens (created when absent)")
	_ = fs.Parse(args)
	if *cfgFile == "" || *listen == "" || *certFile == "" || *keyFile == "" || *signingKey == "" {
		return errors.New("idp: --config, --listen, --tls-cert, --tls-key and --signing-key are required")
	}
	cfg, err := localidp.LoadConfigFile(*cfgFile)
	if err != nil {
		return err
	}
	key, err := localidp.LoadOrCreateSigningKey(*signingKey)
	if err != nil {
		return err
	}
	p, err := localidp.New(cfg, key)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: logRequests(p), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.SetFlags(log.LstdFlags | log.LUTC)
	for _, r := range cfg.Realms {
		log.Printf("idp: realm %s (%s) at %s", r.Name, r.Title, p.Issuer(r.Name))
	}
	// The kubelet rewrites the file (atomically) when a CLRProvider applied
	// later points at a realm of this provider.
	go p.WatchFile(ctx, *cfgFile, idpReloadPeriod, log.Printf)
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log.Printf("idp: stopping")
	return srv.Shutdown(sctx)
}

// logRequests logs method, path (no query: it carries codes and states)
// and status.
func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		log.Printf("idp: %s %s %d", r.Method, r.URL.Path, sw.status)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }
