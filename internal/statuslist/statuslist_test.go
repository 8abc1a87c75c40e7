package statuslist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/status"
	"github.com/learnerrecords/clr-operator/internal/credential/verify"
	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
	"github.com/learnerrecords/clr-operator/internal/pgtest"
	"github.com/learnerrecords/clr-operator/internal/statuslist"
	"github.com/learnerrecords/clr-operator/internal/store"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

func do(t *testing.T, c *http.Client, method, url string, body any) (*http.Response, []byte) {
	t.Helper()
	return issuingtest.Do(t, c, method, url, body)
}

// issueOne issues one course credential and returns its id and bytes.
func issueOne(t *testing.T, env *issuingtest.Env, learner, format string) (string, []byte) {
	t.Helper()
	req := map[string]any{"format": format, "learner": map[string]any{"id": learner, "name": "Sam Lee"},
		"experiences": []any{map[string]any{"kind": "course", "title": "Statistics", "code": "STAT101", "grade": "B+", "credits": 4}}}
	resp, data := do(t, env.Registrar, http.MethodPost, env.URL+issuing.PathRecords, req)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue: %d %s", resp.StatusCode, data)
	}
	var out issuing.IssueResponse
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	c := out.Records[0].Credential
	raw := []byte(c.Credential)
	if c.Format == "VC-JWT" {
		var s string
		_ = json.Unmarshal(c.Credential, &s)
		raw = []byte(s)
	}
	return c.ID, raw
}

func statusOf(t *testing.T, env *issuingtest.Env, raw []byte) (string, *verify.Report) {
	t.Helper()
	rep := env.Site.Verifier().Verify(context.Background(), raw)
	top := rep.Credentials[0]
	if top.Status == nil {
		t.Fatalf("no status in report: %+v", top)
	}
	return top.Status.State, rep
}

// listBit fetches the public status list credential over HTTP, verifies it
// and returns the bit of the credential's entry for purpose.
func listBit(t *testing.T, env *issuingtest.Env, credID, purpose string) (bool, string) {
	t.Helper()
	entries, err := env.Store.StatusEntriesForCredential(context.Background(), credID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Purpose != purpose {
			continue
		}
		resp, data := do(t, http.DefaultClient, http.MethodGet, env.URL+"/status/"+e.ListID, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET status list: %d %s", resp.StatusCode, data)
		}
		rep := env.Site.Verifier().Verify(context.Background(), data)
		if f := env.FailuresFor(rep); len(f) > 0 {
			t.Fatalf("status list credential does not verify: %v", f)
		}
		var cred map[string]any
		if resp.Header.Get("Content-Type") == "application/vc+jwt" {
			cred, err = issuing.JWSPayloadCredential(string(data))
		} else {
			err = json.Unmarshal(data, &cred)
		}
		if err != nil {
			t.Fatal(err)
		}
		bits, err := status.DecodeBitstring(cred["credentialSubject"].(map[string]any)["encodedList"].(string))
		if err != nil {
			t.Fatal(err)
		}
		set, err := bits.Get(e.Index)
		if err != nil {
			t.Fatal(err)
		}
		return set, cred["validFrom"].(string)
	}
	t.Fatalf("credential %s has no %s entry", credID, purpose)
	return false, ""
}

func change(t *testing.T, env *issuingtest.Env, credID, action, reason string) (int, statuslist.StatusResponse) {
	t.Helper()
	uuid := strings.TrimPrefix(credID, env.URL+"/credentials/")
	resp, data := do(t, env.Registrar, http.MethodPost, env.URL+"/issuing/v1/credentials/"+uuid+"/"+action, map[string]any{"reason": reason})
	var out statuslist.StatusResponse
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestRevokeSuspendReinstate(t *testing.T) {
	for _, format := range []string{"VC-JWT", "DataIntegrity"} {
		t.Run(format, func(t *testing.T) {
			env := issuingtest.Start(t, issuingtest.Options{ProofFormats: []string{format}, AllStatusEntries: true})
			id, raw := issueOne(t, env, "sam", format)
			other, otherRaw := issueOne(t, env, "sam", format)
			if st, _ := statusOf(t, env, raw); st != "valid" {
				t.Fatalf("fresh credential status %s", st)
			}
			if set, _ := listBit(t, env, id, "suspension"); set {
				t.Fatal("suspension bit set before suspension")
			}
			// Suspend: bit set, list re-signed, verification says suspended.
			if code, out := change(t, env, id, "suspend", "under review"); code != 200 || out.Status != "suspended" {
				t.Fatalf("suspend: %d %+v", code, out)
			}
			if set, _ := listBit(t, env, id, "suspension"); !set {
				t.Error("suspension bit not set")
			}
			if st, _ := statusOf(t, env, raw); st != "suspended" {
				t.Errorf("after suspend: %s", st)
			}
			// Reinstate: bit cleared.
			if code, out := change(t, env, id, "reinstate", ""); code != 200 || out.Status != "active" {
				t.Fatalf("reinstate: %d %+v", code, out)
			}
			if set, _ := listBit(t, env, id, "suspension"); set {
				t.Error("suspension bit still set after reinstatement")
			}
			if st, _ := statusOf(t, env, raw); st != "valid" {
				t.Errorf("after reinstate: %s", st)
			}
			// Revoke: revocation bit set, 1EdTech list lists it, final.
			if code, out := change(t, env, id, "revoke", "issued in error"); code != 200 || out.Status != "revoked" {
				t.Fatalf("revoke: %d %+v", code, out)
			}
			if set, _ := listBit(t, env, id, "revocation"); !set {
				t.Error("revocation bit not set")
			}
			st, rep := statusOf(t, env, raw)
			if st != "revoked" || !rep.Has(verify.CodeRevoked) {
				t.Errorf("after revoke: %s", st)
			}
			for _, e := range rep.Credentials[0].Status.Entries {
				b, _ := json.Marshal(e)
				if strings.Contains(string(b), "1EdTechRevocationList") && !strings.Contains(string(b), "revoked") {
					t.Errorf("1EdTech revocation list entry does not say revoked: %s", b)
				}
			}
			resp, data := do(t, http.DefaultClient, http.MethodGet, env.URL+"/issuers/"+issuingtest.IssuerName+"/revocations", nil)
			var rl status.RevocationList
			if resp.StatusCode != 200 || json.Unmarshal(data, &rl) != nil || len(rl.RevokedCredentials) != 1 ||
				rl.RevokedCredentials[0].ID != id || rl.RevokedCredentials[0].RevocationReason != "issued in error" {
				t.Errorf("revocation list: %d %s", resp.StatusCode, data)
			}
			if code, _ := change(t, env, id, "reinstate", ""); code != http.StatusConflict {
				t.Errorf("reinstating a revoked credential: %d, want 409", code)
			}
			// The other credential on the same lists is untouched.
			if st, _ := statusOf(t, env, otherRaw); st != "valid" {
				t.Errorf("unrelated credential: %s", st)
			}
			if set, _ := listBit(t, env, other, "revocation"); set {
				t.Error("unrelated credential's bit set")
			}
			// Errors: unknown credential, missing reason, unknown action, no scope.
			if code, _ := change(t, env, env.URL+"/credentials/00000000-0000-4000-8000-000000000000", "revoke", "x"); code != 404 {
				t.Errorf("unknown credential: %d", code)
			}
			if code, _ := change(t, env, other, "revoke", ""); code != 422 {
				t.Errorf("revoke without reason: %d", code)
			}
			if code, _ := change(t, env, other, "explode", "x"); code != 404 {
				t.Errorf("unknown action: %d", code)
			}
			resp, _ = do(t, http.DefaultClient, http.MethodPost, env.URL+"/issuing/v1/credentials/x/revoke", map[string]any{"reason": "x"})
			if resp.StatusCode != 401 {
				t.Errorf("no token: %d", resp.StatusCode)
			}
		})
	}
}

// TestSingleEntryMode: the default, schema-valid credentialStatus (one
// revocation entry): revocation works end to end, suspension is refused.
func TestSingleEntryMode(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) { testSingleEntryMode(t, db) })
	}
}

func testSingleEntryMode(t *testing.T, db string) {
	opts := issuingtest.Options{}
	if db == "postgres" {
		dsn, err := pg.NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		opts.PostgresDSN = dsn
	}
	env := issuingtest.Start(t, opts)
	id, raw := issueOne(t, env, "sam", "DataIntegrity")
	st, rep := statusOf(t, env, raw)
	if st != "valid" || !rep.Verified {
		t.Fatalf("fresh credential: %s, verified %v: %v", st, rep.Verified, issuingtest.Failures(rep))
	}
	if code, _ := change(t, env, id, "suspend", "review"); code != http.StatusUnprocessableEntity {
		t.Errorf("suspend in single-entry mode: %d, want 422", code)
	}
	if code, out := change(t, env, id, "revoke", "fraud"); code != 200 || out.Status != "revoked" {
		t.Fatalf("revoke: %d %+v", code, out)
	}
	if set, _ := listBit(t, env, id, "revocation"); !set {
		t.Error("revocation bit not set")
	}
	if st, rep := statusOf(t, env, raw); st != "revoked" || rep.Verified || !rep.Has(verify.CodeRevoked) {
		t.Errorf("after revoke: %s", st)
	}
}

// TestListResignedOnlyOnChange: serving a list twice without a change
// returns the same signed bytes; a change re-signs.
func TestListResignedOnlyOnChange(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{ProofFormats: []string{"DataIntegrity"}})
	id, _ := issueOne(t, env, "sam", "DataIntegrity")
	entries, _ := env.Store.StatusEntriesForCredential(context.Background(), id)
	url := env.URL + "/status/" + entries[0].ListID
	_, a := do(t, http.DefaultClient, http.MethodGet, url, nil)
	_, b := do(t, http.DefaultClient, http.MethodGet, url, nil)
	if !bytes.Equal(a, b) {
		t.Error("unchanged list was re-signed")
	}
	action := map[string]string{"revocation": "revoke", "suspension": "suspend"}[entries[0].Purpose]
	if code, _ := change(t, env, id, action, "reason"); code != http.StatusOK {
		t.Fatalf("%s: %d", action, code)
	}
	// The stored list was re-signed in the same transaction as the change.
	l, err := env.Store.GetStatusList(context.Background(), entries[0].ListID)
	if err != nil {
		t.Fatal(err)
	}
	if l.SignedAt.Before(l.ChangedAt) {
		t.Errorf("list changed at %v but signed at %v", l.ChangedAt, l.SignedAt)
	}
	_, c := do(t, http.DefaultClient, http.MethodGet, url, nil)
	if bytes.Equal(a, c) || !bytes.Equal(c, l.Credential) {
		t.Error("the served list is not the re-signed one")
	}
}

// TestConcurrentAllocationUnique allocates indexes from many goroutines on
// two Store handles of one database (two replicas) and checks that no index
// is handed out twice.
func TestConcurrentAllocationUnique(t *testing.T) {
	ctx := context.Background()
	open := map[string]func(t *testing.T) (store.Store, store.Store){
		"sqlite": func(t *testing.T) (store.Store, store.Store) {
			path := t.TempDir() + "/clr.db"
			a, err := store.OpenSQLite(ctx, path, store.SQLiteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := store.OpenSQLite(ctx, path, store.SQLiteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return a, b
		},
		"postgres": func(t *testing.T) (store.Store, store.Store) {
			dsn, err := pg.NewDatabase(ctx)
			if err != nil {
				t.Fatal(err)
			}
			a, err := store.OpenPostgres(ctx, dsn, store.PostgresOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := store.OpenPostgres(ctx, dsn, store.PostgresOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return a, b
		},
	}
	for name, opener := range open {
		t.Run(name, func(t *testing.T) {
			a, b := opener(t)
			defer a.Close()
			defer b.Close()
			replicas := []*statuslist.Service{
				{Store: a, Base: "https://clr.example", Now: time.Now, AllEntries: true},
				{Store: b, Base: "https://clr.example", Now: time.Now, AllEntries: true},
			}
			const workers, each = 8, 40
			var mu sync.Mutex
			seen := map[string]string{}
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					svc := replicas[w%2]
					for i := range each {
						cred := fmt.Sprintf("urn:test:%d-%d", w, i)
						err := svc.Store.InTx(ctx, func(tx store.Store) error {
							entries, err := svc.Allocate(ctx, tx, "state-u", cred, time.Now())
							if err != nil {
								return err
							}
							mu.Lock()
							defer mu.Unlock()
							for _, e := range entries.([]any) {
								m := e.(map[string]any)
								if m["type"] != status.TypeBitstringEntry {
									continue
								}
								key := m["statusListCredential"].(string) + "#" + m["statusListIndex"].(string)
								if prev, dup := seen[key]; dup {
									return fmt.Errorf("index %s handed to %s and %s", key, prev, cred)
								}
								seen[key] = cred
							}
							return nil
						})
						if err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if len(seen) != workers*each*2 {
				t.Errorf("%d distinct indexes, want %d", len(seen), workers*each*2)
			}
			// What the database holds agrees: every credential has its two entries.
			for _, cred := range seen {
				entries, err := a.StatusEntriesForCredential(ctx, cred)
				if err != nil || len(entries) != 2 {
					t.Fatalf("%s: %d entries (%v)", cred, len(entries), err)
				}
			}
		})
	}
}
