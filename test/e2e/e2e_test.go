//go:build e2e

// Package e2e runs the product end to end on the environment of `make
// local-up`: a real control plane, cert-manager, the operator built from
// the tree, the samples, and each tenant's clr-server run from what the
// operator rendered. `make test-e2e` (go test -tags e2e ./test/e2e/).
//
// The suite starts its own environment (hack/localup up) and stops it at
// the end, also when it fails or is interrupted (a guardian process runs
// `localup down` if the test process dies). It refuses to run while a
// local environment is up, because its last step is destructive (a tenant
// is deleted). CLR_E2E_SAMPLES names another manifests directory than
// config/samples.
//
// The samples' OpenID Connect providers are real outside hosts: local-up
// runs its own provider on loopback over HTTPS (internal/localidp, a realm
// per institution with a login form asking a username), points the
// tenants at it and has them trust its certificate; the learner signs in
// there as a browser would.
// The tenants' public hosts do not resolve here either: the suite's HTTP
// clients route them to the local processes (see ingress), and
// `clr-server verify` gets the documents it would fetch with --resource.
//
// TestEndToEnd is one story in steps (subtests); a failed step ends it,
// since every later step builds on the earlier ones.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
)

// issued is a credential as the issuing API returns it.
type issued struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Format     string          `json:"format"`
	Credential json.RawMessage `json:"credential"`
}

// story is what the steps hand on to each other.
var story struct {
	client       *oauth2.Config // the registered application
	learnerToken *oauth2.Token
	registrar    *oauth2.Token
	records      []issued // achievement credentials issued before the renewal
	clr          issued   // the learner's CLR, signed before the renewal
	shareURL     string   // public verification page of the CLR
	oldKID       string
	newKID       string
	afterRenewal issued // a credential signed after the renewal
}

func TestEndToEnd(t *testing.T) {
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"TenantsReadyWithTheOperatorsKeys", stepTenantsReady},
		{"NewcomersTourOfTheLearnersSide", stepDemoTour},
		{"ClientRegistersWithOneInstitution", stepRegister},
		{"LearnerSignsInAndAuthorizes", stepLearnerAuthorizes},
		{"RegistrarIssuesRecords", stepRegistrarIssues},
		{"LearnerCLRVerifiesWithTheCLI", stepLearnerCLRVerifies},
		{"PublicVerificationPage", stepPublicPage},
		{"KeyRenewalReachesTheRunningServer", stepKeyRenewal},
		{"NewCredentialsCarryTheNewKeyOldOnesStillVerify", stepAfterRenewal},
		{"RevocationIsReportedByVerifiers", stepRevoke},
		{"OtherInstitutionRefusesTheTokens", stepIsolation},
		{"DeletedTenantIsGone", stepDeleteTenant},
	}
	for i, s := range steps {
		if !t.Run(s.name, s.run) {
			var rest []string
			for _, r := range steps[i+1:] {
				rest = append(rest, r.name)
			}
			t.Fatalf("step %s failed; not run, as they build on it: %s (logs: tmp/local/logs, kept until the next local-up)", s.name, strings.Join(rest, ", "))
		}
	}
}

// Every tenant is Ready, runs locally, and serves for each of its issuers
// the DID document with the key the operator reports as current.
func stepTenantsReady(t *testing.T) {
	if len(state.Tenants) < 2 {
		t.Fatalf("%d tenants running, want the samples' two institutions", len(state.Tenants))
	}
	for _, tn := range state.Tenants {
		p := &clrv1.CLRProvider{}
		if err := k8s.Get(ctx, tn.Key, p); err != nil {
			t.Fatal(err)
		}
		if !clrv1.IsReady(p) {
			t.Errorf("%s not Ready: %+v", tn.Key, clrv1.FindCondition(p, clrv1.ConditionReady))
		}
		if p.Status.URL != tn.PublicURL {
			t.Errorf("%s: status.url %s, local process serves %s", tn.Key, p.Status.URL, tn.PublicURL)
		}
		mustCall(t, pub.client(), http.StatusOK, http.MethodGet, tn.PublicURL+"/ims/clr/v2p0/discovery", "", nil)
		if len(p.Status.Issuers) == 0 {
			t.Fatalf("%s: no issuers in status", tn.Key)
		}
		for _, is := range p.Status.Issuers {
			kids := servedKeys(t, is.IssuerID)
			if is.CurrentKeyID == "" || !slices.Contains(kids, is.CurrentKeyID) {
				t.Errorf("%s: DID document of %s lists %v, not the current key %q", tn.Key, is.IssuerID, kids, is.CurrentKeyID)
			}
			obj := issuerOf(t, tn.Key.Namespace, is.Name)
			if obj.Status.CurrentKey == nil || obj.Status.CurrentKey.KID != is.CurrentKeyID {
				t.Errorf("Issuer %s current key %+v, provider reports %s", is.Name, obj.Status.CurrentKey, is.CurrentKeyID)
			}
		}
	}
	if a := tenant(t, instA.Key); a.PublicURL != instA.PublicURL {
		t.Fatalf("%s serves %s; the OpenID Connect provider was given the redirect URI of %s", instA.Key, a.PublicURL, instA.PublicURL)
	}
}

// The README's scripted tour (`make local-demo`, `localup demo`) runs on
// the environment: every institution it can walk (learner sign-in,
// dynamic registration, an issuing client) ends on the verification page
// of the sample learner's CLR, which says verified; no secret of a tenant
// shows in its output.
func stepDemoTour(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, localupBin, "demo")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("localup demo: %v\n%s", err, out.String())
	}
	var want []string
	for _, tn := range state.Tenants {
		p := &clrv1.CLRProvider{}
		if err := k8s.Get(ctx, tn.Key, p); err != nil {
			t.Fatal(err)
		}
		o := p.Spec.OAuth
		if o.OIDC != nil && len(o.IssuingClients) > 0 && (o.DynamicRegistration == nil || *o.DynamicRegistration) {
			want = append(want, tn.LocalURL+"/share/")
		}
		sec := &corev1.Secret{}
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: tn.Key.Namespace, Name: tn.Key.Name + "-secrets"}, sec); err != nil {
			t.Fatal(err)
		}
		var secrets struct {
			ClientSecrets map[string]string `json:"clientSecrets"`
		}
		if err := json.Unmarshal(sec.Data["secrets.json"], &secrets); err != nil {
			t.Fatal(err)
		}
		for id, s := range secrets.ClientSecrets {
			if s != "" && strings.Contains(out.String(), s) {
				t.Errorf("the demo printed the secret of %s's client %s", tn.Key, id)
			}
		}
	}
	pages := regexp.MustCompile(`open it here:\s+(\S+)`).FindAllStringSubmatch(out.String(), -1)
	if len(want) == 0 || len(pages) != len(want) {
		t.Fatalf("the demo printed %d verification pages, want one for each of %v:\n%s", len(pages), want, out.String())
	}
	for _, m := range pages {
		i := slices.IndexFunc(want, func(w string) bool { return strings.HasPrefix(m[1], w) })
		if i < 0 {
			t.Errorf("verification page %s, want one under each of %v", m[1], want)
			continue
		}
		want = slices.Delete(want, i, i+1)
		page := mustCall(t, &http.Client{Timeout: 30 * time.Second}, http.StatusOK, http.MethodGet, m[1], "", nil)
		if !strings.Contains(string(page.Body), "Verified: issued by") || !strings.Contains(string(page.Body), "Maya Lindqvist") {
			t.Errorf("the page %s does not say the CLR of Maya Lindqvist is verified:\n%.1500s", m[1], page.Body)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out.String())
	}
}

// servedKeys are the key ids (fragments) a DID document lists for
// assertion, fetched at its public URL.
func servedKeys(t *testing.T, did string) []string {
	t.Helper()
	r := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, didWebURL(did), "", nil)
	var doc struct {
		ID              string `json:"id"`
		AssertionMethod []any  `json:"assertionMethod"`
	}
	if err := r.JSON(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != did {
		t.Fatalf("DID document at %s has id %q, want %s", didWebURL(did), doc.ID, did)
	}
	var kids []string
	for _, v := range doc.AssertionMethod {
		s, _ := v.(string)
		if m, ok := v.(map[string]any); ok {
			s, _ = m["id"].(string)
		}
		if _, frag, ok := strings.Cut(s, "#"); ok {
			kids = append(kids, frag)
		}
	}
	return kids
}

// An OAuth 2.0 client discovers institution A's authorization server (RFC
// 8414) and registers dynamically (RFC 7591); institution B does not know
// it.
func stepRegister(t *testing.T) {
	a, b := tenant(t, instA.Key), otherTenant(t)
	story.client = registerClient(t, a)
	creds := struct{ ClientID, ClientSecret string }{story.client.ClientID, story.client.ClientSecret}

	// The client's credentials at the other institution's token endpoint.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.PublicURL+"/oauth/token", strings.NewReader("grant_type=refresh_token&refresh_token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	resp, err := pub.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s's client at %s's token endpoint: %s, want 401 invalid_client", a.Key, b.Key, resp.Status)
	}
}

// registerClient discovers a tenant's authorization server (RFC 8414) and
// registers the E2E Wallet there dynamically (RFC 7591).
func registerClient(t *testing.T, a tenantState) *oauth2.Config {
	t.Helper()
	u, _ := url.Parse(a.PublicURL)
	metaURL := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.Path, "/")
	var meta struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		RegistrationEndpoint  string   `json:"registration_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	}
	if err := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, metaURL, "", nil).JSON(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.Issuer != a.PublicURL || meta.RegistrationEndpoint == "" || !slices.Contains(meta.CodeChallengeMethods, "S256") {
		t.Fatalf("authorization server metadata at %s: %+v", metaURL, meta)
	}
	redirect := "http://127.0.0.1:8976/callback" // RFC 8252 loopback redirect of a native app
	scopes := []string{oauth.ScopeCredentialReadonly, oauth.ScopeProfileReadonly}
	reg := mustCall(t, pub.client(), http.StatusCreated, http.MethodPost, meta.RegistrationEndpoint, "", map[string]any{
		"client_name": "E2E Wallet", "client_uri": "https://wallet.example.org",
		"redirect_uris":              []string{redirect},
		"token_endpoint_auth_method": "client_secret_basic",
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      strings.Join(scopes, " "),
	})
	var creds struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := reg.JSON(&creds); err != nil || creds.ClientID == "" || creds.ClientSecret == "" {
		t.Fatalf("registration response %s: %v", reg, err)
	}
	return &oauth2.Config{ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: meta.AuthorizationEndpoint, TokenURL: meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader}}
}

// The learner uses the registered application: authorization code grant
// with PKCE (golang.org/x/oauth2), signing in on the login form of the
// institution's realm at local-up's OpenID Connect provider and approving
// the consent page as a browser would.
func stepLearnerAuthorizes(t *testing.T) {
	cfg := story.client
	tok := signInLearner(t, cfg, tenant(t, instA.Key), oidc.Issuer, learner.Username)
	// The refresh token gives a new access token (and rotates).
	refreshed, err := cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, pub.client()), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refreshing the learner's token: %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh did not issue a new access token and a rotated refresh token")
	}
	story.learnerToken = refreshed
	r := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, tenant(t, instA.Key).PublicURL+"/ims/clr/v2p0/credentials", refreshed.AccessToken, nil)
	if r.Header.Get("X-Total-Count") != "0" {
		t.Errorf("a new learner has %q credentials, want 0: %s", r.Header.Get("X-Total-Count"), r)
	}
}

// signInLearner runs the authorization code grant with PKCE
// (golang.org/x/oauth2) for cfg at tenant a, signing username in on the
// login form of the realm issuer of local-up's OpenID Connect provider and
// approving the consent page as a browser would; it returns the token.
func signInLearner(t *testing.T, cfg *oauth2.Config, a tenantState, issuer, username string) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	st := rand.Text()
	browser := pub.browser()
	next := cfg.AuthCodeURL(st, oauth2.S256ChallengeOption(verifier))
	var final *url.URL
	consented, signedIn, sawProvider := false, false, false
	for hop := 0; final == nil; hop++ {
		if hop == 12 {
			t.Fatalf("no redirect back to the application after %d steps (last %s)", hop, next)
		}
		page, err := oauthtest.Get(ctx, browser, next)
		if err != nil {
			t.Fatal(err)
		}
		if page.Status == http.StatusOK {
			f, err := oauthtest.ParseForm(page.Body, page.URL)
			if err != nil {
				t.Fatalf("page at %s: %v\n%.800s", next, err, page.Body)
			}
			switch {
			case !signedIn && strings.HasPrefix(next, issuer+"/"):
				// The provider's login form: her username.
				if !slices.Contains(f.TextInputs, "username") {
					t.Fatalf("the provider's page at %s has no username field:\n%.800s", next, page.Body)
				}
				page, err = oauthtest.Submit(ctx, browser, f, url.Values{"username": {username}})
				signedIn = true
			case !consented:
				// The consent page: it names the application; approve.
				if !slices.Contains(f.Buttons["decision"], "approve") || !strings.Contains(string(page.Body), "E2E Wallet") {
					t.Fatalf("the page at %s is not a consent page for E2E Wallet (buttons %v):\n%.800s", next, f.Buttons, page.Body)
				}
				page, err = oauthtest.Submit(ctx, browser, f, url.Values{"decision": {"approve"}})
				consented = true
			default:
				t.Fatalf("unexpected page at %s:\n%.800s", next, page.Body)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if page.Location == nil || (page.Status != http.StatusFound && page.Status != http.StatusSeeOther) {
			t.Fatalf("step %d of the login (%s): %d, no redirect:\n%.800s", hop, page.URL, page.Status, page.Body)
		}
		loc := page.Location
		switch {
		case strings.HasPrefix(loc.String(), cfg.RedirectURL):
			final = loc
		case strings.HasPrefix(loc.String(), issuer+"/"):
			sawProvider = true
		}
		next = loc.String()
	}
	q := final.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization refused: %s %s", e, q.Get("error_description"))
	}
	if !sawProvider || !signedIn || !consented {
		t.Fatalf("the login went through the OpenID Connect provider %v, its login form %v, the consent page %v", sawProvider, signedIn, consented)
	}
	if q.Get("state") != st || q.Get("iss") != a.PublicURL || q.Get("code") == "" {
		t.Fatalf("redirect back %s: want state %s, iss %s (RFC 9207) and a code", final.Redacted(), st, a.PublicURL)
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, pub.client()), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchanging the code with the PKCE verifier: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || !tok.Valid() {
		t.Fatalf("token response lacks an access or refresh token (expiry %v)", tok.Expiry)
	}
	return tok
}

// registrarToken is the issuing client's token (client credentials, with
// the secret from the Secret the operator generated).
func registrarToken(t *testing.T) *oauth2.Token {
	t.Helper()
	sec := &corev1.Secret{}
	name := types.NamespacedName{Namespace: instA.Key.Namespace, Name: instA.Key.Name + "-secrets"}
	if err := k8s.Get(ctx, name, sec); err != nil {
		t.Fatalf("the operator's Secret %s: %v", name, err)
	}
	var secrets struct {
		ClientSecrets map[string]string `json:"clientSecrets"`
	}
	if err := json.Unmarshal(sec.Data["secrets.json"], &secrets); err != nil {
		t.Fatalf("Secret %s key secrets.json: %v", name, err)
	}
	secret := secrets.ClientSecrets[instA.IssuingClient]
	if secret == "" {
		t.Fatalf("Secret %s holds no secret for the issuing client %s", name, instA.IssuingClient)
	}
	cc := clientcredentials.Config{ClientID: instA.IssuingClient, ClientSecret: secret, AuthStyle: oauth2.AuthStyleInHeader,
		TokenURL: tenant(t, instA.Key).PublicURL + "/oauth/token", Scopes: []string{oauth.ScopeIssue, oauth.ScopeRevoke}}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, pub.client()))
	if err != nil {
		t.Fatalf("client credentials grant of %s: %v", instA.IssuingClient, err)
	}
	return tok
}

// issueRecords posts one learner's learning to the issuing API.
func issueRecords(t *testing.T, key string, experiences ...map[string]any) []issued {
	t.Helper()
	r := mustCall(t, pub.client(), http.StatusCreated, http.MethodPost, tenant(t, instA.Key).PublicURL+"/issuing/v1/records", story.registrar.AccessToken, map[string]any{
		"idempotencyKey": key,
		"learner":        map[string]any{"id": learnerID(), "name": learner.Name, "email": learner.Email},
		"experiences":    experiences,
	})
	var out struct {
		Learner string `json:"learner"`
		Records []struct {
			Kind       string `json:"kind"`
			Credential issued `json:"credential"`
		} `json:"records"`
	}
	if err := r.JSON(&out); err != nil {
		t.Fatal(err)
	}
	if out.Learner != learnerID() || len(out.Records) != len(experiences) {
		t.Fatalf("issued %d records for %q, want %d for %s: %s", len(out.Records), out.Learner, len(experiences), learnerID(), r)
	}
	var creds []issued
	for _, rec := range out.Records {
		if rec.Credential.ID == "" || len(rec.Credential.Credential) == 0 {
			t.Fatalf("record %s without its credential: %s", rec.Kind, r)
		}
		creds = append(creds, rec.Credential)
	}
	return creds
}

// The registrar (the institution's SIS, client credentials) issues the
// learner's records: a course and an internship, each assessed against a
// framework, then her CLR.
func stepRegistrarIssues(t *testing.T) {
	story.registrar = registrarToken(t)
	story.records = issueRecords(t, "e2e-fall-2026",
		map[string]any{"kind": "course", "title": "Writing Across the Disciplines", "code": "ENGL 201", "grade": "A-", "credits": 5, "term": "Fall 2026",
			"competencies": []any{map[string]any{"framework": "essential-learning-outcomes", "competency": "written-communication", "level": "milestone",
				"narrative": "Argues from sources across three genres."}}},
		map[string]any{"kind": "internship", "title": "Policy Research Internship", "organization": "Washington State Department of Ecology",
			"hours": 160, "startDate": "2026-06-15", "endDate": "2026-08-21",
			"competencies": []any{map[string]any{"framework": "experiential-learning", "competency": "internships", "level": "contribution"}},
			"evidence":     []any{map[string]any{"name": "Supervisor evaluation", "genre": "Supervisor evaluation", "narrative": "Her watershed brief was adopted by the agency."}}},
	)
	r := mustCall(t, pub.client(), http.StatusCreated, http.MethodPost,
		tenant(t, instA.Key).PublicURL+"/issuing/v1/learners/"+url.PathEscape(learnerID())+"/clr", story.registrar.AccessToken, map[string]any{})
	if err := r.JSON(&story.clr); err != nil || story.clr.ID == "" {
		t.Fatalf("the CLR: %s (%v)", r, err)
	}
	if !strings.Contains(story.clr.Type, "ClrCredential") {
		t.Errorf("the assembled credential has type %q, want a ClrCredential", story.clr.Type)
	}
}

// The learner reads her CLR through the CLR API with the application's
// token, and it verifies through `clr-server verify` with the issuer's
// current key.
func stepLearnerCLRVerifies(t *testing.T) {
	a := tenant(t, instA.Key)
	r := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, a.PublicURL+"/ims/clr/v2p0/credentials", story.learnerToken.AccessToken, nil)
	var page struct {
		Credential []json.RawMessage `json:"credential"`
		JWS        []string          `json:"compactJwsString"`
	}
	if err := r.JSON(&page); err != nil {
		t.Fatal(err)
	}
	var mine json.RawMessage
	for _, c := range page.Credential {
		var d struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(c, &d) == nil && d.ID == story.clr.ID {
			mine = c
		}
	}
	for _, j := range page.JWS {
		if p, err := jwsPayload(j); err == nil && p["id"] == story.clr.ID {
			mine, _ = json.Marshal(j)
		}
	}
	if mine == nil {
		t.Fatalf("the CLR API does not list the learner's CLR %s: %s", story.clr.ID, r)
	}
	rep, code := verifyCLI(t, pub, mine)
	if code != 0 || !rep.Verified {
		t.Fatalf("clr-server verify of the learner's CLR: exit %d, verified %v:%s", code, rep.Verified, rep.failures())
	}
	if len(rep.Credentials) < 1+len(story.records) {
		t.Errorf("the report covers %d credentials, want the CLR and its %d nested records", len(rep.Credentials), len(story.records))
	}
	p := &clrv1.CLRProvider{}
	if err := k8s.Get(ctx, instA.Key, p); err != nil {
		t.Fatal(err)
	}
	story.oldKID = p.Status.Issuers[0].CurrentKeyID
	for _, c := range append([]issued{story.clr}, story.records...) {
		if kid, err := proofKID(c.Credential); err != nil || kid != story.oldKID {
			t.Errorf("credential %s signed with key %q (%v), want the current key %s", c.ID, kid, err, story.oldKID)
		}
	}

	// Records are available in parts: the learner assembles a CLR of one
	// record herself; it verifies, and nests that record (with what backs
	// it) but not the other.
	part := mustCall(t, pub.client(), http.StatusCreated, http.MethodPost, a.PublicURL+"/issuing/v1/me/clr", story.learnerToken.AccessToken,
		map[string]any{"credentials": []string{story.records[1].ID}})
	var partial issued
	if err := part.JSON(&partial); err != nil {
		t.Fatal(err)
	}
	rep, code = verifyCLI(t, pub, partial.Credential)
	if code != 0 || !rep.Verified {
		t.Fatalf("clr-server verify of the learner's partial CLR: exit %d:%s", code, rep.failures())
	}
	var nested []string
	for _, c := range rep.Credentials {
		if c.Path != "" {
			nested = append(nested, c.ID)
		}
	}
	if !slices.Contains(nested, story.records[1].ID) || slices.Contains(nested, story.records[0].ID) {
		t.Errorf("the partial CLR nests %v: want %s, not %s", nested, story.records[1].ID, story.records[0].ID)
	}
}

// The learner shares her CLR: the share link's public verification page
// reports it verified.
func stepPublicPage(t *testing.T) {
	a := tenant(t, instA.Key)
	r := mustCall(t, pub.client(), http.StatusCreated, http.MethodPost, a.PublicURL+"/issuing/v1/me/share-links", story.learnerToken.AccessToken,
		map[string]any{"credential": story.clr.ID})
	var link struct {
		URL string `json:"url"`
	}
	if err := r.JSON(&link); err != nil || !strings.HasPrefix(link.URL, a.PublicURL+"/share/") {
		t.Fatalf("share link %s (%v), want one under %s/share/", r, err, a.PublicURL)
	}
	story.shareURL = link.URL
	page := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, link.URL, "", nil)
	if !strings.Contains(string(page.Body), "Verified: issued by") || !strings.Contains(string(page.Body), learner.Name) {
		t.Fatalf("the verification page does not say the CLR of %s is verified:\n%.1500s", learner.Name, page.Body)
	}
}

// A forced renewal (what `cmctl renew` does: the Certificate's Issuing
// condition) gives the issuer a new key; the running clr-server publishes
// it without a restart and keeps the old one published.
func stepKeyRenewal(t *testing.T) {
	a := tenant(t, instA.Key)
	p := &clrv1.CLRProvider{}
	if err := k8s.Get(ctx, a.Key, p); err != nil {
		t.Fatal(err)
	}
	is := p.Status.Issuers[0]
	old := is.CurrentKeyID
	pidBefore := pidOf(t, a.Process)

	cert := &cmapi.Certificate{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: a.Key.Namespace, Name: is.Name + "-signing-key"}, cert); err != nil {
		t.Fatalf("the Issuer's Certificate: %v", err)
	}
	before := cert.DeepCopy()
	cert.Status.Conditions = append(cert.Status.Conditions, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue,
		Reason: "ManuallyTriggered", Message: "renewal forced by the e2e suite", LastTransitionTime: &metav1.Time{Time: time.Now()},
	})
	if err := k8s.Status().Patch(ctx, cert, client.MergeFrom(before)); err != nil {
		t.Fatalf("triggering the renewal: %v", err)
	}
	var current string
	eventually(t, 60*time.Second, "a new current key on the Issuer", func() (bool, string) {
		obj := issuerOf(t, a.Key.Namespace, is.Name)
		if obj.Status.CurrentKey == nil {
			return false, "no current key"
		}
		current = obj.Status.CurrentKey.KID
		return current != old, "still " + current
	})
	eventually(t, 60*time.Second, "the new key in the served DID document", func() (bool, string) {
		kids := servedKeys(t, is.IssuerID)
		return slices.Contains(kids, current) && slices.Contains(kids, old), fmt.Sprintf("served %v, want %s and the retired %s", kids, current, old)
	})
	if pid := pidOf(t, a.Process); pid != pidBefore {
		t.Errorf("clr-server was restarted (pid %d -> %d): a key renewal must reach it through its watched files", pidBefore, pid)
	}
	story.newKID = current
}

// Credentials issued now are signed with the new key; those signed before
// still verify against the published DID document.
func stepAfterRenewal(t *testing.T) {
	var creds []issued
	eventually(t, 30*time.Second, "a credential signed with the new key "+story.newKID, func() (bool, string) {
		creds = issueRecords(t, "e2e-renewal-"+rand.Text()[:8],
			map[string]any{"kind": "service", "title": "Community Literacy Tutoring", "organization": "Olympia Timberland Library",
				"hours": 40, "startDate": "2026-09-01", "endDate": "2026-11-20",
				"competencies": []any{map[string]any{"framework": "experiential-learning", "competency": "community-service", "level": "participation"}}})
		kid, err := proofKID(creds[0].Credential)
		if err != nil {
			t.Fatal(err)
		}
		return kid == story.newKID, "signed with " + kid
	})
	story.afterRenewal = creds[0]
	if rep, code := verifyCLI(t, pub, story.afterRenewal.Credential); code != 0 || !rep.Verified {
		t.Errorf("the credential signed with the new key does not verify: exit %d:%s", code, rep.failures())
	}
	if rep, code := verifyCLI(t, pub, story.clr.Credential); code != 0 || !rep.Verified {
		t.Errorf("the CLR signed with the old key %s no longer verifies after the renewal: exit %d:%s", story.oldKID, code, rep.failures())
	}
}

// The registrar revokes the CLR; `clr-server verify` and the public page
// report it revoked, and the credential signed after the renewal stays
// valid.
func stepRevoke(t *testing.T) {
	a := tenant(t, instA.Key)
	id := path.Base(story.clr.ID)
	r := mustCall(t, pub.client(), http.StatusOK, http.MethodPost, a.PublicURL+"/issuing/v1/credentials/"+url.PathEscape(id)+"/revoke",
		story.registrar.AccessToken, map[string]any{"reason": "Issued in error: superseded by a corrected record."})
	var st struct {
		Status string `json:"status"`
	}
	if err := r.JSON(&st); err != nil || st.Status != "revoked" {
		t.Fatalf("revocation answer %s (%v)", r, err)
	}
	eventually(t, 30*time.Second, "clr-server verify to report the CLR revoked", func() (bool, string) {
		rep, code := verifyCLI(t, pub, story.clr.Credential)
		var top string
		for _, c := range rep.Credentials {
			if c.Path == "" && c.Status != nil {
				top = c.Status.State
			}
		}
		return code == 1 && !rep.Verified && top == "revoked", fmt.Sprintf("exit %d, verified %v, status %q", code, rep.Verified, top)
	})
	eventually(t, 30*time.Second, "the verification page to say revoked", func() (bool, string) {
		page := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, story.shareURL, "", nil)
		return strings.Contains(string(page.Body), "Revoked: the issuer has revoked this credential."), "the page does not say revoked"
	})
	if rep, code := verifyCLI(t, pub, story.afterRenewal.Credential); code != 0 || !rep.Verified {
		t.Errorf("revoking the CLR affected another credential: exit %d:%s", code, rep.failures())
	}
}

// Institution B refuses institution A's tokens: the learner's token at B's
// CLR API and the registrar's at B's issuing API are unknown there (401),
// while A still accepts them.
func stepIsolation(t *testing.T) {
	a, b := tenant(t, instA.Key), otherTenant(t)
	for _, c := range []struct {
		what, method, path, token string
		body                      any
	}{
		{"the learner's token", http.MethodGet, "/ims/clr/v2p0/credentials", story.learnerToken.AccessToken, nil},
		{"the registrar's token", http.MethodPost, "/issuing/v1/records", story.registrar.AccessToken, map[string]any{"learner": map[string]any{"id": learnerID()}, "experiences": []any{}}},
		{"the registrar's token", http.MethodPost, "/issuing/v1/learners/" + url.PathEscape(learnerID()) + "/clr", story.registrar.AccessToken, map[string]any{}},
	} {
		r, err := call(pub.client(), c.method, b.PublicURL+c.path, c.token, c.body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s of %s at %s %s: %s, want 401 with a Bearer challenge", c.what, a.Key, b.Key, c.path, r)
		}
	}
	r := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, a.PublicURL+"/ims/clr/v2p0/credentials", story.learnerToken.AccessToken, nil)
	if r.Header.Get("X-Total-Count") == "0" {
		t.Errorf("the learner's token at her own institution lists no credentials: %s", r)
	}
}

// Deleting a tenant removes its objects (garbage collected through owner
// references) and its process; the other institution keeps serving.
func stepDeleteTenant(t *testing.T) {
	tn := otherTenant(t)
	pid := pidOf(t, tn.Process)
	if pid == 0 {
		t.Fatalf("no pid recorded for %s", tn.Process)
	}
	p := &clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: tn.Key.Namespace, Name: tn.Key.Name}}
	if err := k8s.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the tenant's CLRProvider, Deployment, ConfigMap and Secret to be gone", func() (bool, string) {
		for _, o := range []client.Object{&clrv1.CLRProvider{}, &appsv1.Deployment{}, &corev1.ConfigMap{}, &corev1.Secret{}} {
			name := tn.Key.Name
			switch o.(type) {
			case *corev1.ConfigMap:
				name += "-config"
			case *corev1.Secret:
				name += "-secrets"
			}
			if err := k8s.Get(ctx, types.NamespacedName{Namespace: tn.Key.Namespace, Name: name}, o); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%T %s still there (err %v)", o, name, err)
			}
		}
		return true, ""
	})
	eventually(t, 30*time.Second, "the tenant's clr-server to stop", func() (bool, string) {
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(stat), ") Z") {
			return false, fmt.Sprintf("pid %d running", pid)
		}
		if r, err := call(pub.client(), http.MethodGet, tn.PublicURL+"/ims/clr/v2p0/discovery", "", nil); err == nil {
			return false, "its port still answers: " + r.String()
		}
		return true, ""
	})
	mustCall(t, pub.client(), http.StatusOK, http.MethodGet, tenant(t, instA.Key).PublicURL+"/ims/clr/v2p0/discovery", "", nil)
}
