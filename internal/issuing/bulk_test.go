package issuing_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
	"github.com/learnerrecords/clr-operator/internal/store"
)

func bulkLine(t *testing.T, key, learner string) []byte {
	t.Helper()
	req := sampleRequest(learner)
	req["idempotencyKey"] = key
	req["experiences"] = req["experiences"].([]any)[:2]
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func postBulk(t *testing.T, env *issuingtest.Env, body []byte) []issuing.BulkResult {
	t.Helper()
	return postBulkQuery(t, env, body, "")
}

func postBulkQuery(t *testing.T, env *issuingtest.Env, body []byte, query string) []issuing.BulkResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+issuing.PathBulk+query, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := env.Registrar.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("bulk: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []issuing.BulkResult
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r issuing.BulkResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bulk response line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countCredentials(t *testing.T, env *issuingtest.Env, learner string) int {
	t.Helper()
	_, n, err := env.Store.ListCredentials(context.Background(), store.CredentialQuery{LearnerID: learner})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBulkNDJSONRetriedLineIssuesOnce(t *testing.T) {
	stores(t, testBulkNDJSON)
}

func testBulkNDJSON(t *testing.T, opts issuingtest.Options) {
	env := issuingtest.Start(t, opts)
	var body bytes.Buffer
	for i := range 5 {
		body.Write(bulkLine(t, fmt.Sprintf("k-%d", i), fmt.Sprintf("learner-%d", i)))
		body.WriteByte('\n')
	}
	// A malformed line and a line without key fail alone.
	body.WriteString("{not json\n")
	body.WriteString(`{"learner":{"id":"x"},"experiences":[{"kind":"course","title":"T"}]}` + "\n")
	// The same key and content again within the same stream: a retry.
	body.Write(bulkLine(t, "k-1", "learner-1"))
	body.WriteByte('\n')
	first := postBulk(t, env, body.Bytes())
	if len(first) != 8 {
		t.Fatalf("got %d result lines, want 8", len(first))
	}
	for i := range 5 {
		if first[i].Status != http.StatusCreated || first[i].Replayed || first[i].Line != i+1 {
			t.Errorf("line %d: %+v", i+1, first[i])
		}
	}
	if first[5].Status != http.StatusUnprocessableEntity || first[5].Error == nil {
		t.Errorf("malformed line: %+v", first[5])
	}
	if first[6].Status != http.StatusUnprocessableEntity || first[6].Error == nil || !strings.Contains(first[6].Error.Description, "idempotencyKey") {
		t.Errorf("line without key: %+v", first[6])
	}
	if !first[7].Replayed || !bytes.Equal(first[7].Result, first[1].Result) {
		t.Errorf("retried line was not replayed with the first result: %+v", first[7])
	}
	// The whole body retried (a client that lost the response).
	retry := postBulk(t, env, body.Bytes())
	for i := range 5 {
		if !retry[i].Replayed || !bytes.Equal(retry[i].Result, first[i].Result) {
			t.Errorf("retry line %d: replayed=%v", i+1, retry[i].Replayed)
		}
	}
	for i := range 5 {
		if n := countCredentials(t, env, fmt.Sprintf("learner-%d", i)); n != 2 {
			t.Errorf("learner-%d has %d credentials, want 2 (issued once)", i, n)
		}
	}
	if n := countCredentials(t, env, "x"); n != 0 {
		t.Errorf("failed line stored %d credentials", n)
	}
	// Bulk results are compact (ids); ?include=credentials adds the signed
	// credentials, which verify.
	var compact issuing.IssueResponse
	if err := json.Unmarshal(first[0].Result, &compact); err != nil || len(compact.Records) != 2 || compact.Records[0].Credential.ID == "" || compact.Records[0].Credential.Credential != nil {
		t.Errorf("compact result %s (%v)", first[0].Result, err)
	}
	full := postBulkQuery(t, env, append(bulkLine(t, "k-full", "learner-full"), '\n'), "?include=credentials")
	var fullResp issuing.IssueResponse
	if err := json.Unmarshal(full[0].Result, &fullResp); err != nil || len(fullResp.Records) != 2 {
		t.Fatalf("full result %s (%v)", full[0].Result, err)
	}
	for _, r := range fullResp.Records {
		requireVerified(t, env, credentialBytes(t, r.Credential))
	}
	// A reused key with different content is refused, nothing issued.
	other := bulkLine(t, "k-2", "someone-else")
	res := postBulk(t, env, append(other, '\n'))
	if res[0].Status != http.StatusUnprocessableEntity || res[0].Error == nil {
		t.Errorf("reused key with other content: %+v", res[0])
	}
	if n := countCredentials(t, env, "someone-else"); n != 0 {
		t.Errorf("reused key issued %d credentials", n)
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	req := sampleRequest("jane")
	hdr := map[string]string{"Idempotency-Key": "enrol-2025-jane"}
	resp1, body1 := post(t, env.Registrar, env.URL+issuing.PathRecords, req, hdr)
	resp2, body2 := post(t, env.Registrar, env.URL+issuing.PathRecords, req, hdr)
	if resp1.StatusCode != http.StatusCreated || resp2.StatusCode != http.StatusCreated {
		t.Fatalf("statuses %d, %d", resp1.StatusCode, resp2.StatusCode)
	}
	if resp2.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(body1, body2) {
		t.Errorf("retry not replayed identically")
	}
	if n := countCredentials(t, env, "jane"); n != 6 {
		t.Errorf("jane has %d credentials, want 6", n)
	}
	req["experiences"] = req["experiences"].([]any)[:1]
	resp3, body3 := post(t, env.Registrar, env.URL+issuing.PathRecords, req, hdr)
	if resp3.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body3), "imsx_codeMinor") {
		t.Errorf("key reuse with other body: %d %s", resp3.StatusCode, body3)
	}
}

func TestIssueRejectsBadRequestsAndStoresNothing(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	fw := issuingtest.FrameworkName
	cases := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"malformed JSON", []byte(`{"learner":`), 422, "not a valid JSON"},
		{"unknown field", []byte(`{"learner":{"id":"bad"},"experiences":[{"kind":"course","title":"x"}],"gpa":4}`), 422, "unknown field"},
		{"no learner", map[string]any{"experiences": []any{map[string]any{"kind": "course", "title": "x"}}}, 422, "learner.id"},
		{"no experiences", map[string]any{"learner": map[string]any{"id": "bad"}}, 422, "experiences"},
		{"bad kind", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "party", "title": "x"}}}, 422, "kind"},
		{"unknown competency", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x",
			"competencies": []any{map[string]any{"framework": fw, "competency": "juggling", "level": "exposure"}}}}}, 422, "juggling"},
		{"unknown level", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x",
			"competencies": []any{map[string]any{"framework": fw, "competency": "critical-thinking", "level": "mastery"}}}}}, 422, "mastery"},
		{"unknown framework", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x",
			"competencies": []any{map[string]any{"framework": "nope", "competency": "critical-thinking", "level": "exposure"}}}}}, 422, "nope"},
		{"bad date", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x", "startDate": "yesterday"}}}, 422, "startDate"},
		{"end before start", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x", "startDate": "2025-05-01", "endDate": "2025-01-01"}}}, 422, "endDate"},
		{"evidence not a URL", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x",
			"evidence": []any{map[string]any{"url": "javascript:alert(1)"}}}}}, 422, "url"},
		{"assessment of two competencies", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "competency-assessment",
			"competencies": []any{map[string]any{"framework": fw, "competency": "critical-thinking", "level": "exposure"}, map[string]any{"framework": fw, "competency": "global-learning", "level": "exposure"}}}}}, 422, "exactly one"},
		{"format not enabled", map[string]any{"format": "LD-Proof", "learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x"}}}, 422, "format"},
		{"unknown issuer", map[string]any{"issuer": "other-u", "learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x"}}}, 422, "issuer"},
		{"negative credits", map[string]any{"learner": map[string]any{"id": "bad"}, "experiences": []any{map[string]any{"kind": "course", "title": "x", "credits": -3}}}, 422, "credits"},
		{"oversized", []byte(`{"learner":{"id":"bad","name":"` + strings.Repeat("a", issuing.DefaultMaxBody) + `"}}`), 413, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := post(t, env.Registrar, env.URL+issuing.PathRecords, tc.body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, data)
			}
			var info struct {
				CodeMajor   string `json:"imsx_codeMajor"`
				Description string `json:"imsx_description"`
			}
			if err := json.Unmarshal(data, &info); err != nil || info.CodeMajor != "failure" {
				t.Fatalf("not an Imsx_StatusInfo body: %s", data)
			}
			if !strings.Contains(info.Description, tc.want) {
				t.Errorf("description %q does not mention %q", info.Description, tc.want)
			}
		})
	}
	if n := countCredentials(t, env, "bad"); n != 0 {
		t.Errorf("rejected requests stored %d credentials", n)
	}
	if recs, err := env.Store.ListLearningRecords(context.Background(), "bad"); err != nil || len(recs) != 0 {
		t.Errorf("rejected requests stored %d records (%v)", len(recs), err)
	}
	// Without a token, or with a token lacking the scope: refused.
	resp, _ := post(t, http.DefaultClient, env.URL+issuing.PathRecords, sampleRequest("bad"), nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}
}

// TestConcurrentRetriesIssueOnce: the same request with the same key sent
// by 8 clients at once (a client retrying on timeouts against several
// replicas) issues once; every caller gets the same result.
func TestConcurrentRetriesIssueOnce(t *testing.T) {
	stores(t, func(t *testing.T, opts issuingtest.Options) {
		env := issuingtest.Start(t, opts)
		body, _ := json.Marshal(sampleRequest("race"))
		results := make(chan []byte, 8)
		statuses := make(chan int, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, env.URL+issuing.PathRecords, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "race-key")
				resp, err := env.Registrar.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				data, _ := io.ReadAll(resp.Body)
				statuses <- resp.StatusCode
				results <- data
			}()
		}
		wg.Wait()
		close(results)
		close(statuses)
		for st := range statuses {
			if st != http.StatusCreated {
				t.Errorf("status %d", st)
			}
		}
		var first []byte
		for r := range results {
			if first == nil {
				first = r
			} else if !bytes.Equal(first, r) {
				t.Error("callers got different results")
			}
		}
		if n := countCredentials(t, env, "race"); n != 6 {
			t.Errorf("%d credentials issued, want 6 (once)", n)
		}
	})
}
