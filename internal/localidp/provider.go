// Package localidp is a small OpenID Connect provider for a local sandbox
// (`make local-up`): the institutions' real providers (Keycloak, Okta...)
// are not reachable from a laptop, so each institution gets a realm here,
// with an issuer of its own, and its learners sign in on a login form by
// typing a username (no password: it is a sandbox, never an identity
// provider for real people).
//
// The protocol side is real and strict, so that clr-server's relying-party
// code runs exactly as against a production provider: discovery, a JWKS,
// the authorization code flow with exact redirect URIs, PKCE (S256) when the
// client uses it, single-use codes, client authentication
// (client_secret_basic or client_secret_post) and RS256 ID tokens with
// nonce. That protocol is internal/oidcprovider, which internal/oidctest
// (the test provider with misbehaviour knobs and an automatic login) serves
// too; this package adds the realms and the login form, and no test code
// runs in the sandbox.
package localidp

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/learnerrecords/clr-operator/internal/oidcprovider"
)

// Config is the provider's configuration (also the JSON file `localup idp`
// reads).
type Config struct {
	// BaseURL is where the provider is reached (https://127.0.0.1:18443);
	// realm R's issuer is BaseURL/realms/R.
	BaseURL string  `json:"baseURL"`
	Realms  []Realm `json:"realms"`
	// IDTokenTTL defaults to five minutes.
	IDTokenTTL time.Duration `json:"idTokenTTL,omitempty"`
}

// Realm is one institution's provider.
type Realm struct {
	// Name is the realm's path segment ([a-z0-9-]).
	Name string `json:"name"`
	// Title is shown on the login page ("Cascadia State University").
	Title string `json:"title,omitempty"`
	// EmailDomain gives the email of a username not listed in Users:
	// username@EmailDomain.
	EmailDomain string   `json:"emailDomain"`
	Clients     []Client `json:"clients"`
	// Users are known people (their display name and email); any other
	// well-formed username signs in too.
	Users []User `json:"users,omitempty"`
}

// Client is a relying party registered in a realm.
type Client = oidcprovider.Client

// User is a known person of a realm.
type User struct {
	Username string `json:"username"`
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
}

var (
	realmName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// usernamePattern keeps usernames usable as subject and email local
	// part.
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// Validate reports the first problem of the configuration.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("baseURL %q: want https://host[:port] (relying parties require an https issuer)", c.BaseURL)
	}
	if len(c.Realms) == 0 {
		return errors.New("no realm")
	}
	seen := map[string]bool{}
	for i, r := range c.Realms {
		if !realmName.MatchString(r.Name) {
			return fmt.Errorf("realms[%d].name %q: want lowercase letters, digits and dashes", i, r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("realms[%d].name %q: duplicate", i, r.Name)
		}
		seen[r.Name] = true
		if r.EmailDomain == "" || strings.ContainsAny(r.EmailDomain, "@/ ") {
			return fmt.Errorf("realm %s: emailDomain %q", r.Name, r.EmailDomain)
		}
		ids := map[string]bool{}
		for j, cl := range r.Clients {
			if cl.ID == "" || cl.Secret == "" || len(cl.RedirectURIs) == 0 {
				return fmt.Errorf("realm %s: clients[%d]: id, secret and redirectURIs are required", r.Name, j)
			}
			if ids[cl.ID] {
				return fmt.Errorf("realm %s: client %s: duplicate", r.Name, cl.ID)
			}
			ids[cl.ID] = true
			for _, ru := range cl.RedirectURIs {
				if u, err := url.Parse(ru); err != nil || !u.IsAbs() || u.Fragment != "" {
					return fmt.Errorf("realm %s: client %s: redirect URI %q is not an absolute URI without fragment", r.Name, cl.ID, ru)
				}
			}
		}
		for j, us := range r.Users {
			if !usernamePattern.MatchString(us.Username) {
				return fmt.Errorf("realm %s: users[%d].username %q", r.Name, j, us.Username)
			}
		}
	}
	return nil
}

// Provider serves every realm of a Config (an http.Handler). Its
// configuration can be replaced while it serves (Reload): realms added
// after it started get their issuer without a restart.
type Provider struct {
	signer *oidcprovider.Signer
	// codes outlives reloads: a sign-in under way in one realm survives
	// another realm being added.
	codes *oidcprovider.Codes
	cur   atomic.Pointer[snapshot]
	mux   *http.ServeMux
	// lastFile is the content of the configuration file last seen by
	// ReloadFile (loaded or refused), so that a file is acted on once.
	fileMu   sync.Mutex
	lastFile []byte
}

// snapshot is one configuration and the realms serving it.
type snapshot struct {
	cfg    Config
	realms map[string]*realm
}

// realm is a configured realm and the issuer serving its protocol.
type realm struct {
	*Realm
	oidc *oidcprovider.Issuer
}

// New returns a provider signing ID tokens with key.
func New(cfg Config, key *rsa.PrivateKey) (*Provider, error) {
	signer, err := oidcprovider.NewSigner(key)
	if err != nil {
		return nil, fmt.Errorf("localidp: %w", err)
	}
	// One store for all realms: a code presented at another realm's token
	// endpoint is used up like any failed exchange.
	p := &Provider{signer: signer, codes: &oidcprovider.Codes{}}
	if err := p.Reload(cfg); err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", p.index)
	m.HandleFunc("GET /realms/{realm}/.well-known/openid-configuration", p.withIssuer((*oidcprovider.Issuer).ServeDiscovery))
	m.HandleFunc("GET /realms/{realm}/jwks", p.withIssuer((*oidcprovider.Issuer).ServeJWKS))
	m.HandleFunc("GET /realms/{realm}/authorize", p.withRealm(p.authorize))
	m.HandleFunc("POST /realms/{realm}/login", p.withRealm(p.login))
	m.HandleFunc("POST /realms/{realm}/token", p.withIssuer((*oidcprovider.Issuer).ServeToken))
	p.mux = m
	return p, nil
}

// Reload makes cfg the provider's configuration, or returns why it is not
// valid and keeps the current one. Requests under way finish with the
// configuration they started with; codes already issued stay redeemable.
func (p *Provider) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("localidp: %w", err)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	cfg.Realms = slices.Clone(cfg.Realms)
	s := &snapshot{cfg: cfg, realms: map[string]*realm{}}
	for i := range s.cfg.Realms {
		r := &s.cfg.Realms[i]
		s.realms[r.Name] = &realm{Realm: r, oidc: &oidcprovider.Issuer{
			URL: IssuerURL(cfg.BaseURL, r.Name), Signer: p.signer, Codes: p.codes, AuthRealm: r.Name, IDTokenTTL: cfg.IDTokenTTL,
			Client: func(id string) *Client { return findClient(r, id) },
		}}
	}
	p.cur.Store(s)
	return nil
}

// Config is the configuration being served.
func (p *Provider) Config() Config { return p.cur.Load().cfg }

// LoadConfigFile reads a configuration file (JSON) without validating it.
func LoadConfigFile(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return parseConfig(path, raw)
}

func parseConfig(path string, raw []byte) (Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ReloadFile reloads the configuration file at path if its content changed
// since the last call (changed reports a reload). A file that does not
// parse or validate is refused once (err) and the current configuration
// stays; writers replace the file atomically (write then rename) so that
// a half-written file is never read.
func (p *Provider) ReloadFile(path string) (changed bool, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("localidp: reading %s: %w", path, err)
	}
	p.fileMu.Lock()
	defer p.fileMu.Unlock()
	if bytes.Equal(raw, p.lastFile) {
		return false, nil
	}
	p.lastFile = raw
	cfg, err := parseConfig(path, raw)
	if err != nil {
		return false, fmt.Errorf("localidp: %w; keeping the previous configuration", err)
	}
	if err := p.Reload(cfg); err != nil {
		return false, fmt.Errorf("%s: %w; keeping the previous configuration", path, err)
	}
	return true, nil
}

// WatchFile calls ReloadFile every interval until ctx is done, logging
// each reload (its realms) and each refused file with logf.
func (p *Provider) WatchFile(ctx context.Context, path string, interval time.Duration, logf func(format string, args ...any)) {
	// The file the provider was started from counts as seen.
	if raw, err := os.ReadFile(path); err == nil {
		p.fileMu.Lock()
		if p.lastFile == nil {
			p.lastFile = raw
		}
		p.fileMu.Unlock()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := p.ReloadFile(path)
		switch {
		case err != nil:
			logf("idp: configuration not reloaded: %v", err)
		case changed:
			var names []string
			for _, r := range p.Config().Realms {
				names = append(names, r.Name)
			}
			logf("idp: configuration reloaded from %s: realms %s", path, strings.Join(names, ", "))
		}
	}
}

// Issuer is the issuer URL of a realm.
func (p *Provider) Issuer(realm string) string { return IssuerURL(p.cur.Load().cfg.BaseURL, realm) }

// IssuerURL is the issuer URL of realm at a provider's base URL.
func IssuerURL(baseURL, realm string) string {
	return strings.TrimSuffix(baseURL, "/") + "/realms/" + realm
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	p.mux.ServeHTTP(w, r)
}

func (p *Provider) withRealm(h func(http.ResponseWriter, *http.Request, *realm)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rm, ok := p.cur.Load().realms[r.PathValue("realm")]
		if !ok {
			http.Error(w, "unknown realm", http.StatusNotFound)
			return
		}
		h(w, r, rm)
	}
}

// withIssuer serves a protocol endpoint of the realm's issuer.
func (p *Provider) withIssuer(h func(*oidcprovider.Issuer, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return p.withRealm(func(w http.ResponseWriter, r *http.Request, rm *realm) { h(rm.oidc, w, r) })
}

func (p *Provider) index(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	b.WriteString("Local OpenID Connect provider (make local-up sandbox). Realms:\n")
	for _, r := range p.Config().Realms {
		fmt.Fprintf(&b, "  %s  %s\n", p.Issuer(r.Name), r.Title)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

func findClient(realm *Realm, id string) *Client {
	for i := range realm.Clients {
		if realm.Clients[i].ID == id {
			return &realm.Clients[i]
		}
	}
	return nil
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
.note{color:#555;font-size:.9rem}.error{color:#a00}input[type=text]{font-size:1rem;padding:.3rem;width:100%}
button{font-size:1rem;margin-top:1rem;padding:.4rem 1.2rem}</style></head>
<body>
<h1>{{.Title}}</h1>
<p class="note">Local sign-in for the <code>make local-up</code> sandbox, standing in for the institution's
identity provider: type any username, there is no password.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autofocus required
 pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}">
{{if .Users}}<p class="note">Sample learners: {{range $i, $u := .Users}}{{if $i}}, {{end}}<code>{{$u.Username}}</code>{{if $u.Name}} ({{$u.Name}}){{end}}{{end}}</p>{{end}}
<button type="submit">Sign in</button>
</form>
</body></html>
`))

func (p *Provider) renderLogin(w http.ResponseWriter, rm *realm, ar oidcprovider.AuthRequest, username, problem string, status int) {
	title := rm.Title
	if title == "" {
		title = rm.Name
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, map[string]any{"Title": title, "Action": rm.oidc.URL + "/login", "Hidden": ar.Params(),
		"Username": username, "Error": problem, "Users": rm.Users})
}

// authorize shows the login form for a valid request.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request, rm *realm) {
	ar := oidcprovider.ParseAuthRequest(r.URL.Query())
	if !rm.oidc.CheckAuthRequest(w, r, ar) {
		return
	}
	p.renderLogin(w, rm, ar, "", "", http.StatusOK)
}

// login takes the form: the request it carries is validated again, then
// the user is signed in and sent back with a code.
func (p *Provider) login(w http.ResponseWriter, r *http.Request, rm *realm) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	ar := oidcprovider.ParseAuthRequest(r.PostForm)
	if !rm.oidc.CheckAuthRequest(w, r, ar) {
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	if !usernamePattern.MatchString(username) {
		p.renderLogin(w, rm, ar, username, "A username is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.", http.StatusBadRequest)
		return
	}
	u := userOf(rm.Realm, username)
	rm.oidc.IssueCode(w, r, ar, oidcprovider.Identity{Subject: u.Username, PreferredUsername: u.Username, Email: u.Email, Name: u.Name})
}

// userOf is the known user of that username, or one made up from it.
func userOf(realm *Realm, username string) User {
	for _, u := range realm.Users {
		if strings.EqualFold(u.Username, username) {
			if u.Email == "" {
				u.Email = strings.ToLower(u.Username) + "@" + realm.EmailDomain
			}
			return u
		}
	}
	return User{Username: username, Name: username, Email: strings.ToLower(username) + "@" + realm.EmailDomain}
}
