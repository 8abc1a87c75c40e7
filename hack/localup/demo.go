package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
)

// demoRedirect is the demo application's redirect URI: a native app's
// loopback redirect (RFC 8252 §7.3). Nothing listens there: the demo reads
// the code from the redirect it is sent, as the app's listener would.
const demoRedirect = "http://127.0.0.1:8976/callback"

// demoApp is the name the application registers under (the consent page
// shows it).
const demoApp = "Newcomer's Wallet (localup demo)"

// demo walks the learner's side of one institution on the running
// environment, through the tenants' public URLs (routed to the local
// processes as an Ingress would): an application registers, the registrar
// issues the learner's records and CLR, the learner signs in at the local
// OpenID Connect provider and authorizes the application (authorization
// code + PKCE), which lists her credentials; she shares her CLR and the
// verification page is printed. Secrets and tokens are never printed.
func demo(l *layout, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	only := fs.String("provider", "", "NAMESPACE/NAME of the CLRProvider to walk (default: the first with learner sign-in, dynamic registration and an issuing client)")
	username := fs.String("learner", sampleLearner.Username, "username the learner types on the local provider's login form")
	_ = fs.Parse(args)

	recs, err := l.sup.List()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(recs, func(r localcluster.Record) bool { return r.Running() }) {
		return errors.New("the local environment is not running: `make local-up` first")
	}
	st, err := l.loadState()
	if err != nil {
		return fmt.Errorf("the local environment is not up yet (%v): wait for `make local-up` to finish", err)
	}
	if st.OIDC == nil {
		return errors.New("no tenant signs in at the local OpenID Connect provider (local-up ran with --external-oidc, or no CLRProvider has spec.oauth.oidc): " +
			"the demo cannot sign in at outside providers; `make local-down` and `make local-up` without --external-oidc")
	}
	if r, err := l.sup.Get(idpProcess); err != nil || !r.Running() {
		return fmt.Errorf("the local OpenID Connect provider is not running (`go run ./hack/localup status`; log %s)", l.sup.LogPath(idpProcess))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := clientcmd.BuildConfigFromFlags("", l.kubeconfig())
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return err
	}
	runs, skipped, err := newDemos(ctx, c, st, *only, *username)
	if err != nil {
		return err
	}
	for i, d := range runs {
		if i > 0 {
			fmt.Println()
		}
		if err := d.run(); err != nil {
			return fmt.Errorf("%s: %w", d.tenant.Key, err)
		}
	}
	for _, s := range skipped {
		fmt.Printf("Not toured: %s\n", s)
	}
	fmt.Printf("\nDone. Tour one institution with --provider NAMESPACE/NAME, another learner with --learner USERNAME.\n")
	return nil
}

// demoRun is one walk through an institution.
type demoRun struct {
	ctx     context.Context
	k8s     client.Client
	tenant  *tenant
	realm   oidcRealmState
	prov    *clrv1.CLRProvider
	http    *http.Client // through the ingress
	browser *http.Client // same, with cookies and without following redirects
	learner struct{ username, id, name, email string }
	step    int
}

// newDemos prepares a walk through each institution that can be toured
// (every one, or only); reasons say why the others cannot be.
func newDemos(ctx context.Context, c client.Client, st *state, only, username string) (runs []*demoRun, reasons []string, err error) {
	if !usernameRE.MatchString(username) {
		return nil, nil, fmt.Errorf("--learner %q: 1 to 64 letters, digits, dots, dashes or underscores", username)
	}
	in, err := demoIngress(st)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range st.OIDC.Realms {
		key := r.Provider.String()
		if only != "" && key != only {
			continue
		}
		i := slices.IndexFunc(st.Tenants, func(t *tenant) bool { return t.Key == r.Provider })
		if i < 0 {
			reasons = append(reasons, key+": no local clr-server runs for it")
			continue
		}
		p := &clrv1.CLRProvider{}
		if err := c.Get(ctx, r.Provider, p); err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		switch {
		case len(p.Spec.OAuth.IssuingClients) == 0:
			reasons = append(reasons, key+": no issuing client (spec.oauth.issuingClients) to issue records with")
			continue
		case p.Spec.OAuth.DynamicRegistration != nil && !*p.Spec.OAuth.DynamicRegistration:
			reasons = append(reasons, key+": dynamic client registration is off (spec.oauth.dynamicRegistration)")
			continue
		}
		d := &demoRun{ctx: ctx, k8s: c, tenant: st.Tenants[i], realm: r, prov: p}
		if err := d.setLearner(username); err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		d.http = &http.Client{Transport: in, Timeout: 30 * time.Second}
		jar, _ := cookiejar.New(nil)
		d.browser = &http.Client{Transport: in, Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		runs = append(runs, d)
	}
	if len(runs) == 0 {
		if only != "" && len(reasons) == 0 {
			reasons = append(reasons, only+": not a tenant signing in at the local OpenID Connect provider")
		}
		return nil, nil, fmt.Errorf("no institution to walk:\n  %s", strings.Join(reasons, "\n  "))
	}
	return runs, reasons, nil
}

// setLearner sets who signs in: her id at the institution is the claim of
// her ID token the tenant is configured with, as the local provider fills
// it.
func (d *demoRun) setLearner(username string) error {
	d.learner.username = username
	d.learner.email = strings.ToLower(username) + "@" + d.realm.EmailDomain
	d.learner.name = username
	if strings.EqualFold(username, sampleLearner.Username) {
		d.learner.name = sampleLearner.Name
	}
	switch d.realm.UsernameClaim {
	case "sub", "preferred_username":
		d.learner.id = username
	case "email":
		d.learner.id = d.learner.email
	default:
		return fmt.Errorf("learners are identified by the claim %q, which the local provider does not issue", d.realm.UsernameClaim)
	}
	return nil
}

// demoIngress routes the tenants' public hosts to their processes and
// trusts the local provider's certificate.
func demoIngress(st *state) (*localcluster.Ingress, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	ca, err := os.ReadFile(st.OIDC.CAFile)
	if err != nil {
		return nil, err
	}
	if !roots.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s holds no PEM certificate", st.OIDC.CAFile)
	}
	in := &localcluster.Ingress{Base: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	for _, t := range st.Tenants {
		if err := in.AddRoute(t.PublicURL, t.Port); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Key, err)
		}
	}
	return in, nil
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (d *demoRun) title(format string, args ...any) {
	d.step++
	fmt.Printf("\n%d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demoRun) say(format string, args ...any) { fmt.Printf("   "+format+"\n", args...) }

// short is a URL for the log: without the tenant's public URL prefix, and
// without its query (authorization codes, states).
func (d *demoRun) short(u string) string {
	if i := strings.IndexByte(u, '?'); i > 0 {
		u = u[:i] + "?…"
	}
	if rest, ok := strings.CutPrefix(u, d.tenant.PublicURL); ok && rest != "" {
		return rest
	}
	return u
}

func (d *demoRun) run() error {
	t := d.tenant
	name := t.Institution
	if name == "" {
		name = t.Key.String()
	}
	fmt.Printf("The learner's side of %s (CLRProvider %s), through its public URL %s\n", name, t.Key, t.PublicURL)
	fmt.Printf("(routed to %s as an Ingress would; learners sign in at %s)\n", t.LocalURL, d.realm.Issuer)

	app, err := d.register()
	if err != nil {
		return err
	}
	clrID, err := d.issue()
	if err != nil {
		return err
	}
	tok, err := d.authorize(app)
	if err != nil {
		return err
	}
	if err := d.list(tok); err != nil {
		return err
	}
	return d.share(tok, clrID)
}

// register discovers the authorization server (RFC 8414) and registers an
// application (RFC 7591).
func (d *demoRun) register() (*oauth2.Config, error) {
	d.title("An application discovers the institution's authorization server and registers (RFC 8414, RFC 7591)")
	u, _ := url.Parse(d.tenant.PublicURL)
	metaURL := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.Path, "/")
	var meta struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
		RegistrationEndpoint  string `json:"registration_endpoint"`
	}
	if err := d.call(http.MethodGet, metaURL, "", nil, http.StatusOK, &meta); err != nil {
		return nil, err
	}
	if meta.Issuer != d.tenant.PublicURL || meta.RegistrationEndpoint == "" {
		return nil, fmt.Errorf("authorization server metadata at %s: issuer %q, registration endpoint %q", metaURL, meta.Issuer, meta.RegistrationEndpoint)
	}
	scopes := []string{oauth.ScopeCredentialReadonly, oauth.ScopeProfileReadonly}
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := d.call(http.MethodPost, meta.RegistrationEndpoint, "", map[string]any{
		"client_name": demoApp, "client_uri": "https://github.com/learnerrecords/clr-operator",
		"redirect_uris": []string{demoRedirect}, "token_endpoint_auth_method": "client_secret_basic",
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"scope": strings.Join(scopes, " "),
	}, http.StatusCreated, &reg); err != nil {
		return nil, err
	}
	if reg.ClientID == "" || reg.ClientSecret == "" {
		return nil, errors.New("the registration response has no client_id or client_secret")
	}
	d.say("registered %q: client_id %s, redirect URI %s", demoApp, reg.ClientID, demoRedirect)
	return &oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: demoRedirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: meta.AuthorizationEndpoint, TokenURL: meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader}}, nil
}

// issue has the registrar (client credentials with the secret the operator
// generated) issue the learner's records and assemble her CLR.
func (d *demoRun) issue() (string, error) {
	issuing := d.prov.Spec.OAuth.IssuingClients[0].ClientID
	d.title("The registrar (issuing client %s, client credentials) issues %s's records and her CLR", issuing, d.learner.name)
	name := types.NamespacedName{Namespace: d.tenant.Key.Namespace, Name: d.tenant.Key.Name + "-secrets"}
	sec := &corev1.Secret{}
	if err := d.k8s.Get(d.ctx, name, sec); err != nil {
		return "", fmt.Errorf("the Secret the operator generated for the tenant (%s): %w", name, err)
	}
	var secrets struct {
		ClientSecrets map[string]string `json:"clientSecrets"`
	}
	if err := json.Unmarshal(sec.Data["secrets.json"], &secrets); err != nil || secrets.ClientSecrets[issuing] == "" {
		return "", fmt.Errorf("Secret %s holds no secret for the issuing client %s (%v)", name, issuing, err)
	}
	cc := clientcredentials.Config{ClientID: issuing, ClientSecret: secrets.ClientSecrets[issuing], AuthStyle: oauth2.AuthStyleInHeader,
		TokenURL: d.tenant.PublicURL + "/oauth/token", Scopes: []string{oauth.ScopeIssue}}
	tok, err := cc.Token(context.WithValue(d.ctx, oauth2.HTTPClient, d.http))
	if err != nil {
		return "", fmt.Errorf("client credentials grant of %s: %w", issuing, err)
	}
	d.say("POST %s (client credentials, secret from Secret %s) -> 200, an access token with the issue scope", d.short(cc.TokenURL), name)

	course := map[string]any{"kind": "course", "title": "Writing Across the Disciplines", "code": "ENGL 201", "grade": "A-",
		"credits": 5, "term": "Fall 2026", "narrative": "Argued from sources across three genres, with two revisions after peer review."}
	// The consortium's shared framework, when this institution uses it.
	if slices.ContainsFunc(d.prov.Spec.FrameworkRefs, func(r clrv1.FrameworkReference) bool { return r.Name == "essential-learning-outcomes" }) {
		course["competencies"] = []any{map[string]any{"framework": "essential-learning-outcomes", "competency": "written-communication",
			"level": "milestone", "narrative": "Argues from sources across three genres."}}
	}
	service := map[string]any{"kind": "service", "title": "Community Literacy Tutoring", "organization": "Timberland Regional Library",
		"hours": 40, "startDate": "2026-09-01", "endDate": "2026-11-20",
		"evidence": []any{map[string]any{"name": "Site supervisor's letter", "genre": "Supervisor evaluation",
			"narrative": "Tutored six adult learners weekly; two passed their GED writing test."}}}
	var out struct {
		Learner string `json:"learner"`
		Records []struct {
			Kind       string `json:"kind"`
			Title      string `json:"title"`
			Credential struct {
				ID string `json:"id"`
			} `json:"credential"`
		} `json:"records"`
	}
	// The idempotency key makes a second run issue nothing new.
	if err := d.call(http.MethodPost, d.tenant.PublicURL+"/issuing/v1/records", tok.AccessToken, map[string]any{
		"idempotencyKey": "localup-demo-" + strings.ToLower(d.learner.username),
		"learner":        map[string]any{"id": d.learner.id, "name": d.learner.name, "email": d.learner.email},
		"experiences":    []any{course, service},
	}, http.StatusCreated, &out); err != nil {
		return "", err
	}
	for _, r := range out.Records {
		d.say("  %s %q: %s", r.Kind, r.Title, r.Credential.ID)
	}
	var clr struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := d.call(http.MethodPost, d.tenant.PublicURL+"/issuing/v1/learners/"+url.PathEscape(d.learner.id)+"/clr", tok.AccessToken,
		map[string]any{}, http.StatusCreated, &clr); err != nil {
		return "", err
	}
	d.say("  %s %s, signed by %s", clr.Type, clr.ID, strings.Join(d.tenant.Issuers, ", "))
	return clr.ID, nil
}

// authorize runs the authorization code grant with PKCE as the learner's
// browser would: the tenant sends her to the local provider's login form,
// she types her username, comes back, approves the consent page, and the
// application exchanges the code.
func (d *demoRun) authorize(app *oauth2.Config) (*oauth2.Token, error) {
	d.title("%s signs in and authorizes the application (authorization code + PKCE)", d.learner.name)
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	next := app.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	var back *url.URL
	signedIn, consented := false, false
	for hop := 0; back == nil; hop++ {
		if hop == 12 {
			return nil, fmt.Errorf("no redirect back to the application after %d steps (last %s)", hop, d.short(next))
		}
		page, err := oauthtest.Get(d.ctx, d.browser, next)
		if err != nil {
			return nil, err
		}
		if page.Status == http.StatusOK {
			f, err := oauthtest.ParseForm(page.Body, page.URL)
			if err != nil {
				return nil, fmt.Errorf("the page at %s: %w", d.short(next), err)
			}
			switch {
			case !signedIn && slices.Contains(f.TextInputs, "username"):
				d.say("GET  %s -> the institution's login form; username %q", d.short(next), d.learner.username)
				page, err = oauthtest.Submit(d.ctx, d.browser, f, url.Values{"username": {d.learner.username}})
				signedIn = true
			case !consented && slices.Contains(f.Buttons["decision"], "approve"):
				if !strings.Contains(string(page.Body), "Newcomer") {
					return nil, fmt.Errorf("the consent page at %s does not name the application", d.short(next))
				}
				d.say("GET  %s -> the consent page for %q; approve", d.short(next), demoApp)
				page, err = oauthtest.Submit(d.ctx, d.browser, f, url.Values{"decision": {"approve"}})
				consented = true
			default:
				return nil, fmt.Errorf("unexpected page at %s:\n%.600s", d.short(next), page.Body)
			}
			if err != nil {
				return nil, err
			}
		} else {
			d.say("GET  %s -> %d", d.short(next), page.Status)
		}
		if page.Location == nil || (page.Status != http.StatusFound && page.Status != http.StatusSeeOther) {
			return nil, fmt.Errorf("%s: status %d without a redirect:\n%.600s", d.short(page.URL.String()), page.Status, page.Body)
		}
		if strings.HasPrefix(page.Location.String(), demoRedirect) {
			back = page.Location
		}
		next = page.Location.String()
	}
	q := back.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("authorization refused: %s %s", e, q.Get("error_description"))
	}
	if !signedIn || !consented {
		return nil, fmt.Errorf("the flow skipped the login form (%v) or the consent page (%v)", signedIn, consented)
	}
	if q.Get("state") != state || q.Get("iss") != d.tenant.PublicURL || q.Get("code") == "" {
		return nil, fmt.Errorf("the redirect back lacks the state, the issuer (RFC 9207) or the code: %s", back.Redacted())
	}
	d.say("-> back at %s with a code (state and iss %s checked)", demoRedirect, q.Get("iss"))
	tok, err := app.Exchange(context.WithValue(d.ctx, oauth2.HTTPClient, d.http), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("exchanging the code with the PKCE verifier: %w", err)
	}
	d.say("POST %s (code + PKCE verifier) -> an access token (expires %s) and a refresh token", d.short(app.Endpoint.TokenURL), tok.Expiry.UTC().Format(time.RFC3339))
	return tok, nil
}

// list reads the learner's credentials through the CLR 2.0 API.
func (d *demoRun) list(tok *oauth2.Token) error {
	d.title("The application lists %s's credentials (CLR 2.0 API)", d.learner.name)
	var page struct {
		Credential []json.RawMessage `json:"credential"`
		JWS        []string          `json:"compactJwsString"`
	}
	target := d.tenant.PublicURL + "/ims/clr/v2p0/credentials"
	if err := d.call(http.MethodGet, target, tok.AccessToken, nil, http.StatusOK, &page); err != nil {
		return err
	}
	docs := page.Credential
	for _, j := range page.JWS {
		if parts := strings.Split(j, "."); len(parts) == 3 {
			if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				var claims struct {
					VC json.RawMessage `json:"vc"`
				}
				if json.Unmarshal(raw, &claims) == nil && len(claims.VC) > 0 {
					raw = claims.VC
				}
				docs = append(docs, raw)
			}
		}
	}
	if len(docs) == 0 {
		return fmt.Errorf("GET %s lists no credential for %s", target, d.learner.id)
	}
	for _, raw := range docs {
		var c struct {
			Type              []string `json:"type"`
			Name              string   `json:"name"`
			CredentialSubject struct {
				Nested []json.RawMessage `json:"verifiableCredential"`
			} `json:"credentialSubject"`
		}
		_ = json.Unmarshal(raw, &c)
		nested := ""
		if n := len(c.CredentialSubject.Nested); n > 0 {
			nested = fmt.Sprintf(", nesting %d signed credentials", n)
		}
		d.say("  %s %q%s", strings.Join(slices.DeleteFunc(c.Type, func(s string) bool { return s == "VerifiableCredential" }), ","), c.Name, nested)
	}
	return nil
}

// share makes a share link for the CLR and checks its verification page.
func (d *demoRun) share(tok *oauth2.Token, clrID string) error {
	d.title("%s shares her CLR: its public verification page", d.learner.name)
	var link struct {
		URL string `json:"url"`
	}
	if err := d.call(http.MethodPost, d.tenant.PublicURL+"/issuing/v1/me/share-links", tok.AccessToken,
		map[string]any{"credential": clrID}, http.StatusCreated, &link); err != nil {
		return err
	}
	path, ok := strings.CutPrefix(link.URL, d.tenant.PublicURL)
	if !ok {
		return fmt.Errorf("the share link %s is not under %s", link.URL, d.tenant.PublicURL)
	}
	local := d.tenant.LocalURL + path
	resp, err := http.Get(local)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Verified: issued by")) {
		return fmt.Errorf("the verification page %s: %s, and it does not say \"Verified: issued by\"", local, resp.Status)
	}
	d.say("public URL:      %s", link.URL)
	d.say("open it here:    %s", local)
	d.say("(the page checks the CLR's proof, validity and revocation status and says: Verified)")
	return nil
}

// call sends a JSON request through the ingress and decodes the answer,
// logging method, path and status (never the bearer token).
func (d *demoRun) call(method, target, bearer string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(d.ctx, method, target, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s, want %d: %.600s", method, target, resp.Status, want, raw)
	}
	extra := ""
	if n := resp.Header.Get("X-Total-Count"); n != "" {
		extra = ", X-Total-Count " + n
	}
	fmt.Printf("   %-4s %s -> %d%s\n", method, d.short(target), resp.StatusCode, extra)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the expected JSON: %w", method, target, err)
		}
	}
	return nil
}
