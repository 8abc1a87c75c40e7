package publicsite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
)

func do(t *testing.T, c *http.Client, method, url string, body any) (*http.Response, []byte) {
	t.Helper()
	return issuingtest.Do(t, c, method, url, body)
}

const fw = issuingtest.FrameworkName

func record() map[string]any {
	return map[string]any{
		"learner": map[string]any{"id": "ana", "name": "Ana <b>Silva</b>"},
		"experiences": []any{
			map[string]any{"kind": "course", "title": "Intro <script>alert(1)</script> Writing", "code": "ENG101", "grade": "A", "credits": 3, "term": "Fall 2025",
				"competencies": []any{map[string]any{"framework": fw, "competency": "written-communication", "level": "integration"}}},
			map[string]any{"kind": "internship", "title": "Newsroom intern", "organization": "Daily Planet", "hours": 160,
				"evidence":     []any{map[string]any{"url": "https://portfolio.example/ana/articles", "name": "Published articles"}},
				"competencies": []any{map[string]any{"framework": fw, "competency": "written-communication", "level": "transformation"}}},
			map[string]any{"kind": "service", "title": "Literacy tutor", "organization": "City Library", "hours": 30,
				"competencies": []any{map[string]any{"framework": fw, "competency": "ethical-reasoning", "level": "exposure"}}},
		},
	}
}

func issue(t *testing.T, env *issuingtest.Env, format string) issuing.IssueResponse {
	t.Helper()
	req := record()
	req["format"] = format
	resp, data := do(t, env.Registrar, http.MethodPost, env.URL+issuing.PathRecords, req)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue: %d %s", resp.StatusCode, data)
	}
	var out issuing.IssueResponse
	_ = json.Unmarshal(data, &out)
	return out
}

func clr(t *testing.T, env *issuingtest.Env, format string) issuing.IssuedCredential {
	t.Helper()
	resp, data := do(t, env.Registrar, http.MethodPost, env.URL+"/issuing/v1/learners/ana/clr", map[string]any{"format": format})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("clr: %d %s", resp.StatusCode, data)
	}
	var out issuing.IssuedCredential
	_ = json.Unmarshal(data, &out)
	return out
}

func share(t *testing.T, env *issuingtest.Env, credID string) string {
	t.Helper()
	resp, data := do(t, env.Registrar, http.MethodPost, env.URL+"/issuing/v1/learners/ana/share-links", map[string]any{"credential": credID})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("share link: %d %s", resp.StatusCode, data)
	}
	var out struct{ URL string }
	_ = json.Unmarshal(data, &out)
	if !strings.HasPrefix(out.URL, env.URL+"/share/") || len(out.URL) < len(env.URL)+40 {
		t.Fatalf("share URL %q", out.URL)
	}
	return out.URL
}

func page(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, data := do(t, http.DefaultClient, http.MethodGet, url, nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("content type %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}
	return resp.StatusCode, string(data)
}

func TestVerificationPage(t *testing.T) {
	for _, format := range []string{"DataIntegrity", "VC-JWT"} {
		t.Run(format, func(t *testing.T) {
			env := issuingtest.Start(t, issuingtest.Options{})
			issued := issue(t, env, format)
			c := clr(t, env, format)
			url := share(t, env, c.ID)
			code, html := page(t, url)
			if code != 200 {
				t.Fatalf("page: %d", code)
			}
			for _, want := range []string{
				`<html lang="en">`, "<h1>Comprehensive Learner Record of Ana &lt;b&gt;Silva&lt;/b&gt;</h1>", "State University",
				"Verified:", ">Valid<", ">Active<", ">Current<",
				// framework layer: written communication reached transformation, 2 pieces of evidence
				"Framework layer", "<caption>Essential Learning Outcomes", `aria-label="Written Communication: level 3 of 3, Transformation"`, `style="width: 100%"`,
				`aria-label="Ethical Reasoning: level 1 of 3, Exposure"`, `style="width: 33%"`, `aria-label="Critical Thinking: not yet shown"`,
				// evidence layer grouped by kind
				`<h3 id="group-course">Courses</h3>`, `<h3 id="group-internship">Internships</h3>`, `<h3 id="group-service">Service</h3>`,
				"Grade: A", "Organisation: Daily Planet", "Hours: 160", `href="https://portfolio.example/ana/articles"`,
				"Intro &lt;script&gt;alert(1)&lt;/script&gt; Writing", "@media print",
			} {
				if !strings.Contains(html, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(html, "<script") {
				t.Error("page contains a script element")
			}
			// Revoke one embedded credential and the CLR itself: the page says so.
			for _, id := range []string{issued.Records[0].Credential.ID, c.ID} {
				uuid := strings.TrimPrefix(id, env.URL+"/credentials/")
				if resp, data := do(t, env.Registrar, http.MethodPost, env.URL+"/issuing/v1/credentials/"+uuid+"/revoke", map[string]any{"reason": "superseded by a corrected record"}); resp.StatusCode != 200 {
					t.Fatalf("revoke: %d %s", resp.StatusCode, data)
				}
			}
			_, html = page(t, url)
			for _, want := range []string{"Revoked: the issuer has revoked this credential.", ">Revoked<", "superseded by a corrected record", "This record did not verify on its own"} {
				if !strings.Contains(html, want) {
					t.Errorf("revoked page lacks %q", want)
				}
			}
			// A share link of an AchievementCredential alone.
			code, html = page(t, share(t, env, issued.Records[1].Credential.ID))
			if code != 200 || !strings.Contains(html, "Newsroom intern") || !strings.Contains(html, "Verified:") {
				t.Errorf("single credential page: %d", code)
			}
			// Withdrawn and unknown links.
			token := strings.TrimPrefix(url, env.URL+"/share/")
			if resp, _ := do(t, env.Registrar, http.MethodDelete, env.URL+"/issuing/v1/learners/ana/share-links/"+token, nil); resp.StatusCode != 204 {
				t.Fatalf("withdraw link: %d", resp.StatusCode)
			}
			if code, html := page(t, url); code != 410 || !strings.Contains(html, "withdrawn") {
				t.Errorf("withdrawn link: %d", code)
			}
			if code, _ := page(t, env.URL+"/share/"+strings.Repeat("A", 43)); code != 404 {
				t.Errorf("unknown link: %d", code)
			}
			// Links only for the learner's own credentials.
			if resp, _ := do(t, env.Registrar, http.MethodPost, env.URL+"/issuing/v1/learners/someone/share-links", map[string]any{"credential": c.ID}); resp.StatusCode != 404 {
				t.Errorf("share link for another learner's credential: %d", resp.StatusCode)
			}
		})
	}
}

func TestPublicDocumentsResolve(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	issued := issue(t, env, "DataIntegrity")
	iss := env.Host.Issuers[issuingtest.IssuerName]
	get := func(url string) map[string]any {
		t.Helper()
		resp, data := do(t, http.DefaultClient, http.MethodGet, url, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, data)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		return m
	}
	// The issuer DID document, at the did:web path, parsed by the credential core.
	didURL, err := resolve.DIDWebURL(iss.DID)
	if err != nil {
		t.Fatal(err)
	}
	path := didURL[strings.Index(didURL[len("https://"):], "/")+len("https://"):]
	if path != "/issuers/"+issuingtest.IssuerName+"/did.json" {
		t.Fatalf("did:web path %s", path)
	}
	resp, data := do(t, http.DefaultClient, http.MethodGet, env.URL+path, nil)
	doc, err := resolve.ParseDocument(data)
	if resp.StatusCode != 200 || err != nil || doc.ID != iss.DID {
		t.Fatalf("DID document: %d %v %s", resp.StatusCode, err, data)
	}
	kid := iss.Keys().Current().KID
	if _, ok := doc.Method(iss.VerificationMethod(kid)); !ok || !doc.IsAssertionMethod(iss.VerificationMethod(kid)) {
		t.Errorf("DID document lacks the current key as assertion method")
	}
	// The host DID document and the JWKS with iss.
	if get(env.URL + "/.well-known/did.json")["id"] == nil {
		t.Error("host DID document has no id")
	}
	jwks := get(env.URL + "/.well-known/jwks.json")["keys"].([]any)
	if len(jwks) != 1 || jwks[0].(map[string]any)["kid"] != kid || jwks[0].(map[string]any)["iss"] != iss.DID || jwks[0].(map[string]any)["d"] != nil {
		t.Errorf("JWKS %v", jwks)
	}
	// Every id in an issued credential resolves.
	if p := get(env.URL + "/issuers/" + issuingtest.IssuerName); p["id"] != iss.DID || p["name"] != "State University" {
		t.Errorf("profile %v", p)
	}
	credID := issued.Records[1].Credential.ID
	if c := get(credID); c["id"] != credID || c["status"] != "active" || c["credentialSubject"] != nil {
		t.Errorf("credential document %v", c)
	}
	achID := env.URL + "/achievements/" + strings.TrimPrefix(credID, env.URL+"/credentials/")
	if a := get(achID); a["id"] != achID || a["name"] != "Newsroom intern" {
		t.Errorf("achievement %v", a)
	}
	l := env.Host.Frameworks[fw]
	if f := get(l.URL()); f["id"] != l.URL() || len(f["competencies"].([]any)) != 5 {
		t.Errorf("framework document %v", f["id"])
	}
	if c := get(l.CompetencyURL("critical-thinking")); c["achievementType"] != "Competency" {
		t.Errorf("competency %v", c)
	}
	if lv := get(l.LevelURL("integration")); lv["name"] != "Integration" {
		t.Errorf("level %v", lv)
	}
	for _, u := range []string{env.URL + "/frameworks/nope", env.URL + "/issuers/nope", env.URL + "/credentials/nope", env.URL + "/frameworks/" + fw + "/levels/nope"} {
		if resp, _ := do(t, http.DefaultClient, http.MethodGet, u, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", u, resp.StatusCode)
		}
	}
}

// TestKeyRotationKeepsOldCredentialsVerifiable renews the signing key on
// disk: new credentials use the new key, the old key stays published, and
// the credential signed before verifies still.
func TestKeyRotationKeepsOldCredentialsVerifiable(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	iss := env.Host.Issuers[issuingtest.IssuerName]
	oldKID := iss.Keys().Current().KID
	before := issue(t, env, "VC-JWT").Records[0].Credential
	if err := issuingtest.WriteKey(env.KeyDir, keys.Ed25519); err != nil {
		t.Fatal(err)
	}
	env.Keys.ReloadAll()
	newKID := iss.Keys().Current().KID
	if newKID == oldKID {
		t.Fatal("key not renewed")
	}
	after := issue(t, env, "VC-JWT").Records[0].Credential
	for name, c := range map[string]issuing.IssuedCredential{"before": before, "after": after} {
		var jws string
		_ = json.Unmarshal(c.Credential, &jws)
		rep := env.Site.Verifier().Verify(context.Background(), []byte(jws))
		if f := issuingtest.Failures(rep); len(f) > 0 {
			t.Errorf("credential signed %s the renewal: %v", name, f)
		}
	}
	resp, data := do(t, http.DefaultClient, http.MethodGet, env.URL+"/issuers/"+issuingtest.IssuerName+"/did.json", nil)
	doc, err := resolve.ParseDocument(data)
	if resp.StatusCode != 200 || err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{oldKID, newKID} {
		if !doc.IsAssertionMethod(iss.VerificationMethod(kid)) {
			t.Errorf("key %s not published as assertion method", kid)
		}
	}
}

// TestLearnerSharesPartialCLR: the learner signs in (authorization code
// grant with PKCE, development login), assembles a partial CLR of the
// records she chooses, and shares it; she cannot share someone else's.
func TestLearnerSharesPartialCLR(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	issued := issue(t, env, "DataIntegrity")
	ana := env.Learner(t, "ana")
	resp, data := do(t, ana, http.MethodPost, env.URL+"/issuing/v1/me/clr", map[string]any{"credentials": []string{issued.Records[1].Credential.ID}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("learner CLR: %d %s", resp.StatusCode, data)
	}
	var c issuing.IssuedCredential
	_ = json.Unmarshal(data, &c)
	resp, data = do(t, ana, http.MethodPost, env.URL+"/issuing/v1/me/share-links", map[string]any{"credential": c.ID})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("learner share link: %d %s", resp.StatusCode, data)
	}
	var link struct{ URL string }
	_ = json.Unmarshal(data, &link)
	code, html := page(t, link.URL)
	for _, want := range []string{"partial: the learner chose", "Newsroom intern", "Verified:"} {
		if code != 200 || !strings.Contains(html, want) {
			t.Errorf("partial CLR page (%d) lacks %q", code, want)
		}
	}
	if strings.Contains(html, "Literacy tutor") {
		t.Error("partial CLR page shows a record the learner left out")
	}
	// Another learner cannot share Ana's credential; a registrar token is
	// not a learner's.
	bob := env.Learner(t, "bob")
	if resp, _ := do(t, bob, http.MethodPost, env.URL+"/issuing/v1/me/share-links", map[string]any{"credential": c.ID}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob sharing ana's CLR: %d", resp.StatusCode)
	}
	if resp, _ := do(t, env.Registrar, http.MethodPost, env.URL+"/issuing/v1/me/share-links", map[string]any{"credential": c.ID}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("registrar on /me: %d", resp.StatusCode)
	}
	// Bob withdrawing Ana's link: not found; Ana withdrawing it: gone.
	token := strings.TrimPrefix(link.URL, env.URL+"/share/")
	if resp, _ := do(t, bob, http.MethodDelete, env.URL+"/issuing/v1/me/share-links/"+token, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob withdrawing ana's link: %d", resp.StatusCode)
	}
	if resp, _ := do(t, ana, http.MethodDelete, env.URL+"/issuing/v1/me/share-links/"+token, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("ana withdrawing her link: %d", resp.StatusCode)
	}
}

// TestPageShowsTampering: a credential altered in the database after
// signing (a grade changed) is shown as not verified.
func TestPageShowsTampering(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	issued := issue(t, env, "DataIntegrity")
	id := issued.Records[0].Credential.ID
	url := share(t, env, id)
	c, err := env.Store.GetCredential(context.Background(), "ana", id)
	if err != nil {
		t.Fatal(err)
	}
	c.Data = bytes.Replace(c.Data, []byte(`"value":"A"`), []byte(`"value":"A+"`), 1)
	if !bytes.Contains(c.Data, []byte(`"A+"`)) {
		t.Fatal("grade not found in the stored credential")
	}
	if _, err := env.Store.PutCredential(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	code, html := page(t, url)
	for _, want := range []string{"Not verified: the signature is not valid.", ">Not valid<", "Grade: A&#43;"} {
		if code != 200 || !strings.Contains(html, want) {
			t.Errorf("tampered page (%d) lacks %q", code, want)
		}
	}
}
