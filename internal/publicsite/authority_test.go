package publicsite_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/learnerrecords/clr-operator/internal/credential/validate"
	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

// authority is an institution accredited by a regional accreditor (with a
// page where that is checked) and chartered by the state (a number only),
// plus an authority known by name alone.
var authority = []serverconfig.Authority{
	{Name: "Northwest Commission on Colleges and Universities", URL: "https://nwccu.example/institutions/state-u",
		Identifier: "NWCCU-0042", Description: "Institutional accreditation"},
	{Name: "State Board of Higher Education", Identifier: "charter 1890-17"},
	{Name: "Council for <Higher> Education Accreditation"},
}

// profileSchema compiles the official Open Badges 3.0 Profile JSON Schema
// from the shared reference data.
func profileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	s, _ := sharedclr.Schema(t, "schemas/ob_v3p0/ob_v3p0_profile_schema.json")
	return s
}

// authorityEntries returns the otherIdentifier entries of a Profile that
// publish an authority, by identifier.
func authorityEntries(t *testing.T, profile map[string]any) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	ids, _ := profile["otherIdentifier"].([]any)
	for _, x := range ids {
		e, _ := x.(map[string]any)
		if e["identifierType"] == serverconfig.AuthorityIdentifierType {
			if e["type"] != "IdentifierEntry" {
				t.Errorf("authority entry without type IdentifierEntry: %v", e)
			}
			out[e["identifier"].(string)] = true
		}
	}
	return out
}

func TestIssuerAuthorityPublished(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{Authority: authority})
	iss := env.Host.Issuers[issuingtest.IssuerName]

	t.Run("issuer profile", func(t *testing.T) {
		resp, body := do(t, http.DefaultClient, http.MethodGet, env.URL+"/issuers/"+issuingtest.IssuerName, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("profile: %d %s", resp.StatusCode, body)
		}
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		got := authorityEntries(t, p)
		// The URL where the accreditation is checked wins over its number;
		// the charter has only a number; a bare name has no identifier to
		// publish (it appears on the verification page only).
		want := map[string]bool{"https://nwccu.example/institutions/state-u": true, "charter 1890-17": true}
		if len(got) != len(want) {
			t.Errorf("authority entries %v, want %v", got, want)
		}
		for id := range want {
			if !got[id] {
				t.Errorf("profile lacks authority %q: %s", id, body)
			}
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := profileSchema(t).Validate(inst); err != nil {
			t.Errorf("the served Profile fails the official OB 3.0 Profile schema: %v", err)
		}
		for _, level := range []validate.Level{validate.LevelSchema, validate.LevelSpec} {
			if errs := validate.Validate(body, validate.Options{Kind: validate.KindProfile, Level: level}); len(errs) > 0 {
				t.Errorf("the served Profile fails the validator at level %d: %v", level, errs)
			}
		}
		// The configured Profile is not changed by building documents.
		if _, ok := iss.Profile["otherIdentifier"]; ok {
			t.Errorf("building the Profile document changed the configured Profile: %v", iss.Profile)
		}
		again := authorityEntries(t, iss.ProfileDocument())
		if len(again) != len(want) {
			t.Errorf("a second Profile document has %d authority entries, want %d", len(again), len(want))
		}
	})

	for _, format := range []string{"DataIntegrity", "VC-JWT"} {
		t.Run("credential and page "+format, func(t *testing.T) {
			issue(t, env, format)
			c := clr(t, env, format)
			// The issuer embedded in the signed credential carries the
			// authority too, and the credential still verifies.
			var cred map[string]any
			if format == "VC-JWT" {
				var jws string
				if err := json.Unmarshal(c.Credential, &jws); err != nil {
					t.Fatal(err)
				}
				var err error
				if cred, err = issuing.JWSPayloadCredential(jws); err != nil {
					t.Fatal(err)
				}
			} else if err := json.Unmarshal(c.Credential, &cred); err != nil {
				t.Fatal(err)
			}
			issuer, _ := cred["issuer"].(map[string]any)
			if got := authorityEntries(t, issuer); !got["https://nwccu.example/institutions/state-u"] || !got["charter 1890-17"] {
				t.Errorf("credential issuer lacks the authority: %v", issuer)
			}
			code, html := page(t, share(t, env, c.ID))
			if code != 200 {
				t.Fatalf("page: %d", code)
			}
			for _, want := range []string{
				"Verified:", "<dt>Accredited by</dt>",
				`<a href="https://nwccu.example/institutions/state-u" rel="noopener noreferrer">Northwest Commission on Colleges and Universities</a> <span class="muted">(NWCCU-0042)</span>: Institutional accreditation`,
				`State Board of Higher Education <span class="muted">(charter 1890-17)</span>`,
				"Council for &lt;Higher&gt; Education Accreditation",
			} {
				if !strings.Contains(html, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}

// Without authority the page shows no "Accredited by" row and the Profile
// no authority entry.
func TestNoAuthorityNoAccreditedBy(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	issue(t, env, "DataIntegrity")
	c := clr(t, env, "DataIntegrity")
	code, html := page(t, share(t, env, c.ID))
	if code != 200 || !strings.Contains(html, "Verified:") {
		t.Fatalf("page: %d", code)
	}
	if strings.Contains(html, "Accredited by") {
		t.Error("page shows an accreditation the issuer does not have")
	}
	if got := authorityEntries(t, env.Host.Issuers[issuingtest.IssuerName].ProfileDocument()); len(got) != 0 {
		t.Errorf("authority entries without authority: %v", got)
	}
}
