package issuing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/credential/verify"
	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
)

func sampleRequest(learner string) map[string]any {
	return map[string]any{
		"learner": map[string]any{"id": learner, "name": "Jane Doe", "email": "jane@state-u.example"},
		"experiences": []any{
			map[string]any{"kind": "course", "title": "Ethics in Technology", "code": "PHIL210", "grade": "A-", "credits": 3,
				"term": "Fall 2025", "startDate": "2025-09-01", "endDate": "2025-12-15",
				"competencies": []any{
					map[string]any{"framework": issuingtest.FrameworkName, "competency": "ethical-reasoning", "level": "integration", "narrative": "Final paper on algorithmic fairness."},
					map[string]any{"framework": issuingtest.FrameworkName, "competency": "written-communication", "level": "integration"},
				}},
			map[string]any{"kind": "internship", "title": "Data Analyst Intern", "organization": "Acme Health", "hours": 240,
				"startDate": "2025-06-01", "endDate": "2025-08-15", "narrative": "Built dashboards for clinic wait times.",
				"evidence":     []any{map[string]any{"url": "https://portfolio.example/jane/acme", "name": "Internship portfolio", "genre": "Portfolio"}},
				"competencies": []any{map[string]any{"framework": issuingtest.FrameworkName, "competency": "critical-thinking", "level": "transformation"}}},
			map[string]any{"kind": "research", "title": "Undergraduate research: urban heat islands", "organization": "Dept. of Geography", "hours": 120,
				"competencies": []any{map[string]any{"framework": issuingtest.FrameworkName, "competency": "critical-thinking", "level": "integration"},
					map[string]any{"framework": issuingtest.FrameworkName, "competency": "ct-evidence", "level": "integration"}}},
			map[string]any{"kind": "service", "title": "Food bank volunteer", "organization": "City Food Bank", "hours": 40},
			map[string]any{"kind": "study-abroad", "title": "Semester in Kyoto", "organization": "Kyoto University", "location": "Kyoto, Japan",
				"competencies": []any{map[string]any{"framework": issuingtest.FrameworkName, "competency": "global-learning", "level": "exposure"}}},
			map[string]any{"kind": "competency-assessment",
				"competencies": []any{map[string]any{"framework": issuingtest.FrameworkName, "competency": "critical-thinking", "level": "exposure",
					"narrative": "First-year seminar essay.", "evidence": []any{map[string]any{"url": "https://portfolio.example/jane/essay.pdf", "name": "Seminar essay", "genre": "Artefact"}}}}},
		},
	}
}

func post(t *testing.T, c *http.Client, url string, body any, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case []byte:
		rd = bytes.NewReader(b)
	case nil:
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func issue(t *testing.T, env *issuingtest.Env, req map[string]any, header map[string]string) issuing.IssueResponse {
	t.Helper()
	resp, data := post(t, env.Registrar, env.URL+issuing.PathRecords, req, header)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue: %d %s", resp.StatusCode, data)
	}
	var out issuing.IssueResponse
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// credentialBytes returns what a verifier is given: the JSON or the JWS.
func credentialBytes(t *testing.T, c issuing.IssuedCredential) []byte {
	t.Helper()
	if c.Format == "VC-JWT" {
		var s string
		if err := json.Unmarshal(c.Credential, &s); err != nil {
			t.Fatalf("VC-JWT credential is not a JSON string: %v", err)
		}
		return []byte(s)
	}
	return c.Credential
}

// requireVerified verifies data with the host's verifier and fails on any
// failed check; in the three-entry status mode the credentialStatus set must
// be reported as a warning.
func requireVerified(t *testing.T, env *issuingtest.Env, data []byte) *verify.Report {
	t.Helper()
	rep := env.Site.Verifier().Verify(context.Background(), data)
	if failures := env.FailuresFor(rep); len(failures) > 0 {
		js, _ := json.MarshalIndent(rep, "", "  ")
		t.Fatalf("credential does not verify: %v\n%s", failures, js)
	}
	if !rep.Verified {
		t.Fatalf("report not verified")
	}
	if env.AllStatusEntries && !rep.Has(verify.CodeStructure) {
		t.Fatalf("three-entry credentialStatus verified without the schema warning")
	}
	return rep
}

func TestIssueRecordsVerify(t *testing.T) {
	for _, tc := range []struct {
		format string
		all    bool
	}{{"VC-JWT", false}, {"DataIntegrity", false}, {"VC-JWT", true}, {"DataIntegrity", true}} {
		format := tc.format
		t.Run(fmt.Sprintf("%s/allStatusEntries=%v", format, tc.all), func(t *testing.T) {
			env := issuingtest.Start(t, issuingtest.Options{AllStatusEntries: tc.all})
			req := sampleRequest("jane")
			req["format"] = format
			out := issue(t, env, req, nil)
			if len(out.Records) != 6 {
				t.Fatalf("got %d records, want 6", len(out.Records))
			}
			for _, r := range out.Records {
				if r.Credential.Format != format {
					t.Errorf("record %s: format %s, want %s", r.Kind, r.Credential.Format, format)
				}
				if !strings.HasPrefix(r.Credential.ID, env.URL+"/credentials/") {
					t.Errorf("credential id %s is not on this host", r.Credential.ID)
				}
				data := credentialBytes(t, r.Credential)
				rep := requireVerified(t, env, data)
				top := rep.Credentials[0]
				if top.Status == nil || top.Status.State != "valid" {
					t.Errorf("%s: status %+v, want valid", r.Kind, top.Status)
				}
				// Every credential carries both status methods.
				stored, err := env.Store.GetCredentialByID(context.Background(), r.Credential.ID)
				if err != nil {
					t.Fatal(err)
				}
				obj, err := issuing.CredentialJSON(stored)
				if err != nil {
					t.Fatal(err)
				}
				types := map[string]int{}
				purposes := map[string]bool{}
				if !tc.all {
					e, ok := obj["credentialStatus"].(map[string]any)
					if !ok || e["type"] != "BitstringStatusListEntry" || e["statusPurpose"] != "revocation" {
						t.Errorf("%s: credentialStatus %v, want one revocation BitstringStatusListEntry", r.Kind, obj["credentialStatus"])
					}
					continue
				}
				for _, e := range obj["credentialStatus"].([]any) {
					m := e.(map[string]any)
					types[m["type"].(string)]++
					if p, ok := m["statusPurpose"].(string); ok {
						purposes[p] = true
					}
				}
				if types["BitstringStatusListEntry"] != 2 || types["1EdTechRevocationList"] != 1 || !purposes["revocation"] || !purposes["suspension"] {
					t.Errorf("%s: credentialStatus %v", r.Kind, obj["credentialStatus"])
				}
			}
			// The internship credential is a complete record: organisation,
			// hours, evidence and the competency alignment.
			intern := out.Records[1].Credential
			stored, _ := env.Store.GetCredentialByID(context.Background(), intern.ID)
			obj, _ := issuing.CredentialJSON(stored)
			subj := obj["credentialSubject"].(map[string]any)
			ach := subj["achievement"].(map[string]any)
			if ach["achievementType"] != "ext:Internship" || subj["source"].(map[string]any)["name"] != "Acme Health" {
				t.Errorf("internship achievement %v / source %v", ach["achievementType"], subj["source"])
			}
			if al := ach["alignment"].([]any); len(al) != 1 || al[0].(map[string]any)["targetUrl"] != env.Host.Frameworks[issuingtest.FrameworkName].CompetencyURL("critical-thinking") {
				t.Errorf("internship alignment %v", ach["alignment"])
			}
			if ev := obj["evidence"].([]any); len(ev) != 1 || ev[0].(map[string]any)["id"] != "https://portfolio.example/jane/acme" {
				t.Errorf("internship evidence %v", obj["evidence"])
			}
		})
	}
}

// clrFrom returns the CLR JSON object of an issued ClrCredential.
func clrFrom(t *testing.T, c issuing.IssuedCredential) map[string]any {
	t.Helper()
	if c.Format == "VC-JWT" {
		m, err := issuing.JWSPayloadCredential(string(credentialBytes(t, c)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	var m map[string]any
	if err := json.Unmarshal(c.Credential, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func assemble(t *testing.T, env *issuingtest.Env, learner string, body map[string]any) issuing.IssuedCredential {
	t.Helper()
	resp, data := post(t, env.Registrar, env.URL+"/issuing/v1/learners/"+learner+"/clr", body, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assemble CLR: %d %s", resp.StatusCode, data)
	}
	var out issuing.IssuedCredential
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCLRFrameworkLayer(t *testing.T) {
	for _, format := range []string{"DataIntegrity", "VC-JWT"} {
		t.Run(format, func(t *testing.T) {
			env := issuingtest.Start(t, issuingtest.Options{})
			issued := issue(t, env, sampleRequest("jane"), nil)
			clr := assemble(t, env, "jane", map[string]any{"format": format})
			requireVerified(t, env, credentialBytes(t, clr))
			m := clrFrom(t, clr)
			if _, partial := m["partial"]; partial {
				t.Errorf("whole CLR is marked partial")
			}
			subj := m["credentialSubject"].(map[string]any)
			vcs := subj["verifiableCredential"].([]any)
			if len(vcs) != len(issued.Records)+1 {
				t.Fatalf("CLR holds %d credentials, want %d experiences + 1 framework summary", len(vcs), len(issued.Records))
			}
			// Competencies as achievements of type Competency with levels.
			achs := subj["achievement"].([]any)
			if len(achs) != len(issuingtest.SampleFramework().Competencies) {
				t.Fatalf("CLR has %d achievements, want one per competency", len(achs))
			}
			for _, a := range achs {
				am := a.(map[string]any)
				if am["achievementType"] != "Competency" {
					t.Errorf("achievement %v type %v", am["id"], am["achievementType"])
				}
				rd := am["resultDescription"].([]any)[0].(map[string]any)
				if rd["resultType"] != "RubricCriterionLevel" || len(rd["rubricCriterionLevel"].([]any)) != 3 {
					t.Errorf("achievement %v levels %v", am["id"], rd)
				}
			}
			// Associations: evidence → competency, child → parent.
			l := env.Host.Frameworks[issuingtest.FrameworkName]
			assoc := map[string]bool{}
			for _, a := range subj["association"].([]any) {
				am := a.(map[string]any)
				assoc[fmt.Sprintf("%s %s %s", am["sourceId"], am["associationType"], am["targetId"])] = true
			}
			if !assoc[l.CompetencyURL("ct-evidence")+" isChildOf "+l.CompetencyURL("critical-thinking")] {
				t.Errorf("missing competency tree association; have %v", assoc)
			}
			internAch := env.URL + "/achievements/" + strings.TrimPrefix(issued.Records[1].Credential.ID, env.URL+"/credentials/")
			if !assoc[internAch+" isRelatedTo "+l.CompetencyURL("critical-thinking")] {
				t.Errorf("missing internship → critical thinking association; have %v", assoc)
			}
			assessAch := env.URL + "/achievements/" + strings.TrimPrefix(issued.Records[5].Credential.ID, env.URL+"/credentials/")
			if !assoc[assessAch+" isChildOf "+l.CompetencyURL("critical-thinking")] {
				t.Errorf("missing assessment → critical thinking association; have %v", assoc)
			}
			// The summary: counts per level from the signed Results.
			var summary map[string]any
			for _, v := range vcs {
				vm := v.(map[string]any)
				a := vm["credentialSubject"].(map[string]any)["achievement"].(map[string]any)
				if a["achievementType"] == "ext:LearningFramework" {
					summary = vm
				}
			}
			if summary == nil {
				t.Fatal("no framework summary credential in the CLR")
			}
			sum, err := l.ParseSummaryResults(summary["credentialSubject"].(map[string]any)["result"].([]any))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][3]int{
				"critical-thinking":     {1, 1, 1},
				"ct-evidence":           {0, 1, 0},
				"written-communication": {0, 1, 0},
				"ethical-reasoning":     {0, 1, 0},
				"global-learning":       {1, 0, 0},
			}
			for _, c := range sum.Competencies {
				var got [3]int
				for i, lc := range c.Counts {
					got[i] = lc.Count
				}
				if got != want[c.ID] {
					t.Errorf("%s: counts %v, want %v", c.ID, got, want[c.ID])
				}
			}
			if ct := sum.Competencies[0]; ct.HighestLevel != "transformation" {
				t.Errorf("critical thinking highest level %q, want transformation", ct.HighestLevel)
			}
		})
	}
}

func TestPartialCLR(t *testing.T) {
	stores(t, testPartialCLR)
}

func testPartialCLR(t *testing.T, opts issuingtest.Options) {
	env := issuingtest.Start(t, opts)
	issued := issue(t, env, sampleRequest("jane"), nil)
	chosen := []string{issued.Records[0].Credential.ID, issued.Records[4].Credential.ID}
	clr := assemble(t, env, "jane", map[string]any{"credentials": chosen, "format": "DataIntegrity"})
	requireVerified(t, env, credentialBytes(t, clr))
	m := clrFrom(t, clr)
	if m["partial"] != true {
		t.Errorf("partial CLR: partial = %v, want true", m["partial"])
	}
	vcs := m["credentialSubject"].(map[string]any)["verifiableCredential"].([]any)
	var ids []string
	for _, v := range vcs {
		vm := v.(map[string]any)
		if vm["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["achievementType"] != "ext:LearningFramework" {
			ids = append(ids, vm["id"].(string))
		}
	}
	if len(ids) != 2 || ids[0] != chosen[0] || ids[1] != chosen[1] {
		t.Errorf("partial CLR holds %v, want %v", ids, chosen)
	}
	// A credential of another learner cannot be slipped in.
	other := issue(t, env, sampleRequest("john"), nil)
	resp, data := post(t, env.Registrar, env.URL+"/issuing/v1/learners/jane/clr", map[string]any{"credentials": []string{other.Records[0].Credential.ID}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(data), "imsx_codeMajor") {
		t.Errorf("foreign credential in partial CLR: %d %s", resp.StatusCode, data)
	}
}

// TestKeyAlgorithms: ECDSA P-256 keys sign Data Integrity (ecdsa-rdfc-2019)
// and VC-JWT (ES256); RSA keys sign VC-JWT (RS256) and are published as
// JsonWebKey. Both verify through the host's DID document.
func TestKeyAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		alg     string
		formats []string
	}{{"ECDSA-P256", []string{"DataIntegrity", "VC-JWT"}}, {"RSA-2048", []string{"VC-JWT"}}} {
		t.Run(tc.alg, func(t *testing.T) {
			env := issuingtest.Start(t, issuingtest.Options{Algorithm: tc.alg, ProofFormats: tc.formats})
			for _, f := range tc.formats {
				req := sampleRequest("jane")
				req["format"] = f
				out := issue(t, env, req, nil)
				rep := requireVerified(t, env, credentialBytes(t, out.Records[0].Credential))
				if len(rep.Credentials[0].Proofs) == 0 || !rep.Credentials[0].Proofs[0].Verified {
					t.Errorf("%s: proofs %+v", f, rep.Credentials[0].Proofs)
				}
			}
		})
	}
}
