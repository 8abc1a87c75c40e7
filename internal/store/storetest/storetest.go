// Package storetest is the conformance suite every store.Store
// implementation must pass. The SQLite and PostgreSQL tests run the same
// suite, which is what makes the two interchangeable.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// Harness opens stores of one implementation.
type Harness struct {
	// NewLocation returns where a fresh, empty store lives (a SQLite file
	// path, a PostgreSQL DSN of a new database).
	NewLocation func(t testing.TB) string
	// Open opens (and migrates) the store at a location.
	Open func(ctx context.Context, location string) (store.Store, error)
	// CredentialVersions says whether the store reports
	// CredentialsVersion (the single-writer SQLite store); one that does
	// not must always answer ok == false.
	CredentialVersions bool
}

// t0 is a fixed instant, at microsecond precision as stored.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func (h Harness) open(t *testing.T) store.Store {
	t.Helper()
	s, err := h.Open(context.Background(), h.NewLocation(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"Migrations", testMigrations},
		{"Clients", testClients},
		{"AuthCodes", testAuthCodes},
		{"AuthCodeConcurrentConsume", testAuthCodeConcurrent},
		{"Tokens", testTokens},
		{"RefreshRotationConcurrent", testRotationConcurrent},
		{"Sessions", testSessions},
		{"Learners", testLearners},
		{"Credentials", testCredentials},
		{"CredentialPaging", testCredentialPaging},
		{"InsertCredentialsAtomic", testInsertCredentials},
		{"CredentialsVersion", testCredentialsVersion},
		{"CredentialsVersionConcurrent", testCredentialsVersionConcurrent},
		{"Transactions", testTransactions},
		{"LearningRecordsAndIdempotency", testRecordsIdempotency},
		{"StatusLists", testStatusLists},
		{"StatusIndexConcurrent", testStatusConcurrent},
		{"CredentialStatus", testCredentialStatus},
		{"ShareLinks", testShareLinks},
		{"InvalidRecords", testInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func testMigrations(t *testing.T, h Harness) {
	ctx := context.Background()
	loc := h.NewLocation(t)
	s, err := h.Open(ctx, loc)
	must(t, err, "first open")
	v1, err := store.SchemaVersion(ctx, s)
	must(t, err, "schema version")
	if v1 < 1 {
		t.Fatalf("schema version %d after migration", v1)
	}
	_, err = s.EnsureLearner(ctx, "alice", t0)
	must(t, err, "ensure learner")
	must(t, s.Close(), "close")
	// Re-opening applies nothing twice and keeps the data.
	s2, err := h.Open(ctx, loc)
	must(t, err, "second open")
	defer s2.Close()
	v2, err := store.SchemaVersion(ctx, s2)
	must(t, err, "schema version")
	if v2 != v1 {
		t.Fatalf("schema version changed on reopen: %d -> %d", v1, v2)
	}
	if _, err := s2.GetLearner(ctx, "alice"); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
	must(t, s2.Ping(ctx), "ping")
}

func testClients(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	c := &store.Client{
		ID: "client-1", SecretHash: "hash", Name: "Wallet", RedirectURIs: []string{"https://w.example/cb", "http://127.0.0.1/cb"},
		Scopes: []string{"a", "b"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		Metadata: json.RawMessage(`{"client_name":"Wallet"}`), CreatedAt: t0,
	}
	must(t, s.CreateClient(ctx, c), "create client")
	wantErr(t, s.CreateClient(ctx, c), store.ErrConflict, "duplicate client")
	got, err := s.GetClient(ctx, "client-1")
	must(t, err, "get client")
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("client round trip:\n got %+v\nwant %+v", got, c)
	}
	n, err := s.CountClients(ctx)
	must(t, err, "count")
	if n != 1 {
		t.Fatalf("CountClients = %d, want 1", n)
	}
	must(t, s.DeleteClient(ctx, "client-1"), "delete")
	_, err = s.GetClient(ctx, "client-1")
	wantErr(t, err, store.ErrNotFound, "get deleted client")
	wantErr(t, s.DeleteClient(ctx, "client-1"), store.ErrNotFound, "delete twice")
}

func newCode(hash string, expires time.Time) *store.AuthCode {
	return &store.AuthCode{
		CodeHash: hash, ClientID: "c", LearnerID: "alice", RedirectURI: "https://w.example/cb",
		Scopes: []string{"s1"}, CodeChallenge: "chal", CodeChallengeMethod: "S256", GrantID: "g-" + hash,
		CreatedAt: t0, ExpiresAt: expires,
	}
}

func testAuthCodes(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	code := newCode("code-1", t0.Add(10*time.Minute))
	must(t, s.CreateAuthCode(ctx, code), "create code")
	wantErr(t, s.CreateAuthCode(ctx, code), store.ErrConflict, "duplicate code")

	got, err := s.ConsumeAuthCode(ctx, "code-1", t0.Add(time.Minute))
	must(t, err, "consume")
	if got.UsedAt == nil || !got.UsedAt.Equal(t0.Add(time.Minute)) || got.LearnerID != "alice" ||
		got.CodeChallenge != "chal" || !reflect.DeepEqual(got.Scopes, []string{"s1"}) {
		t.Fatalf("consumed code = %+v", got)
	}
	again, err := s.ConsumeAuthCode(ctx, "code-1", t0.Add(2*time.Minute))
	wantErr(t, err, store.ErrAlreadyUsed, "replayed code")
	if again == nil || again.GrantID != "g-code-1" {
		t.Fatalf("replay must return the code for grant revocation, got %+v", again)
	}

	must(t, s.CreateAuthCode(ctx, newCode("code-2", t0.Add(time.Minute))), "create code 2")
	exp, err := s.ConsumeAuthCode(ctx, "code-2", t0.Add(time.Minute))
	wantErr(t, err, store.ErrExpired, "expired code")
	if exp == nil || exp.UsedAt != nil {
		t.Fatalf("expired code must come back unused, got %+v", exp)
	}
	_, err = s.ConsumeAuthCode(ctx, "nope", t0)
	wantErr(t, err, store.ErrNotFound, "unknown code")
}

func testAuthCodeConcurrent(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	must(t, s.CreateAuthCode(ctx, newCode("race", t0.Add(time.Hour))), "create code")
	const n = 16
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, used int
		other    []error
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ConsumeAuthCode(ctx, "race", t0.Add(time.Second))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrAlreadyUsed):
				used++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || used != n-1 || len(other) > 0 {
		t.Fatalf("concurrent consume: %d succeeded, %d already used, errors %v; want exactly one success", ok, used, other)
	}
}

func token(hash, kind, grant string, expires time.Time) *store.Token {
	return &store.Token{Hash: hash, Kind: kind, ClientID: "c", Subject: "alice", Scopes: []string{"r", "w"},
		GrantID: grant, CreatedAt: t0, ExpiresAt: expires}
}

func testTokens(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	exp := t0.Add(time.Hour)
	must(t, s.CreateToken(ctx, token("a1", store.TokenAccess, "g1", exp)), "create access")
	must(t, s.CreateToken(ctx, token("r1", store.TokenRefresh, "g1", exp)), "create refresh")
	wantErr(t, s.CreateToken(ctx, token("a1", store.TokenAccess, "g1", exp)), store.ErrConflict, "duplicate token")

	got, err := s.GetToken(ctx, "a1")
	must(t, err, "get token")
	if !reflect.DeepEqual(got, token("a1", store.TokenAccess, "g1", exp)) || !got.Active(t0) || got.Active(exp) {
		t.Fatalf("token round trip: %+v", got)
	}

	old, err := s.RotateRefreshToken(ctx, "r1", t0.Add(time.Minute),
		token("a2", store.TokenAccess, "g1", exp), token("r2", store.TokenRefresh, "g1", exp))
	must(t, err, "rotate")
	if old.Hash != "r1" || old.RevokedAt == nil {
		t.Fatalf("rotate returned %+v", old)
	}
	if _, err := s.GetToken(ctx, "r2"); err != nil {
		t.Fatalf("replacement refresh token not stored: %v", err)
	}
	replay, err := s.RotateRefreshToken(ctx, "r1", t0.Add(2*time.Minute), token("a3", store.TokenAccess, "g1", exp))
	wantErr(t, err, store.ErrAlreadyUsed, "replayed refresh")
	if replay == nil || replay.GrantID != "g1" {
		t.Fatalf("replay must return the old token, got %+v", replay)
	}
	if _, err := s.GetToken(ctx, "a3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed rotation stored its replacement: %v", err)
	}
	_, err = s.RotateRefreshToken(ctx, "a2", t0.Add(time.Minute))
	wantErr(t, err, store.ErrNotFound, "rotating an access token")

	must(t, s.CreateToken(ctx, token("r-old", store.TokenRefresh, "g2", t0.Add(time.Second))), "create short refresh")
	_, err = s.RotateRefreshToken(ctx, "r-old", t0.Add(time.Minute))
	wantErr(t, err, store.ErrExpired, "expired refresh")

	n, err := s.RevokeGrant(ctx, "g1", t0.Add(3*time.Minute))
	must(t, err, "revoke grant")
	if n != 3 { // a1, a2, r2 (r1 already revoked)
		t.Fatalf("RevokeGrant revoked %d tokens, want 3", n)
	}
	a2, _ := s.GetToken(ctx, "a2")
	if a2.Active(t0.Add(4 * time.Minute)) {
		t.Fatal("token of a revoked grant is still active")
	}

	must(t, s.CreateToken(ctx, token("a9", store.TokenAccess, "g9", exp)), "create")
	must(t, s.RevokeToken(ctx, "a9", t0.Add(time.Minute)), "revoke token")
	must(t, s.RevokeToken(ctx, "a9", t0.Add(time.Hour)), "revoke token twice")
	a9, _ := s.GetToken(ctx, "a9")
	if a9.RevokedAt == nil || !a9.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("revocation time must be the first one: %+v", a9.RevokedAt)
	}
	wantErr(t, s.RevokeToken(ctx, "zzz", t0), store.ErrNotFound, "revoke unknown")

	deleted, err := s.DeleteExpiredTokens(ctx, t0.Add(2*time.Hour))
	must(t, err, "delete expired")
	if deleted < 6 {
		t.Fatalf("DeleteExpiredTokens deleted %d, want >= 6", deleted)
	}
	if _, err := s.GetToken(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token still there: %v", err)
	}
}

func testRotationConcurrent(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	exp := t0.Add(time.Hour)
	must(t, s.CreateToken(ctx, token("r", store.TokenRefresh, "g", exp)), "create")
	const n = 12
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.RotateRefreshToken(ctx, "r", t0.Add(time.Second), token(fmt.Sprintf("new-%d", i), store.TokenRefresh, "g", exp))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if !errors.Is(err, store.ErrAlreadyUsed) {
				t.Errorf("rotation %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent rotations succeeded, want exactly 1", ok)
	}
}

func testSessions(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	ss := &store.Session{Hash: "s1", LearnerID: "alice", Data: json.RawMessage(`{"k":"v"}`), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, ss), "create session")
	got, err := s.GetSession(ctx, "s1")
	must(t, err, "get session")
	if !reflect.DeepEqual(got, ss) {
		t.Fatalf("session round trip: %+v", got)
	}
	must(t, s.DeleteSession(ctx, "s1"), "delete session")
	_, err = s.GetSession(ctx, "s1")
	wantErr(t, err, store.ErrNotFound, "deleted session")
}

func testLearners(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	_, err := s.GetLearner(ctx, "alice")
	wantErr(t, err, store.ErrNotFound, "unknown learner")
	l, err := s.EnsureLearner(ctx, "alice", t0)
	must(t, err, "ensure")
	if l.ID != "alice" || string(l.Profile) != "{}" || !l.CreatedAt.Equal(t0) {
		t.Fatalf("new learner = %+v", l)
	}
	l2, err := s.EnsureLearner(ctx, "alice", t0.Add(time.Hour))
	must(t, err, "ensure again")
	if !l2.CreatedAt.Equal(t0) {
		t.Fatalf("EnsureLearner overwrote created_at: %v", l2.CreatedAt)
	}
	profile := json.RawMessage(`{"type":["Profile"],"name":"Alice Ng","email":"alice@example.edu"}`)
	l3, err := s.PutLearnerProfile(ctx, "alice", profile, t0.Add(2*time.Hour))
	must(t, err, "put profile")
	if string(l3.Profile) != string(profile) || !l3.UpdatedAt.Equal(t0.Add(2*time.Hour)) || !l3.CreatedAt.Equal(t0) {
		t.Fatalf("after PutLearnerProfile: %+v", l3)
	}
	l4, err := s.PutLearnerProfile(ctx, "bob", json.RawMessage(`{"name":"Bob"}`), t0)
	must(t, err, "put profile of a new learner")
	if l4.ID != "bob" {
		t.Fatalf("new learner via profile: %+v", l4)
	}
}

func cred(learner, id string, at time.Time, data string) *store.Credential {
	return &store.Credential{ID: id, LearnerID: learner, Issuer: "did:web:u.example", Type: "AchievementCredential",
		Format: store.FormatJSON, Data: []byte(data), Source: store.SourceIssued, CreatedAt: at, UpdatedAt: at}
}

func testCredentials(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	// Exact bytes, including insignificant whitespace and key order.
	data := "{ \"id\" : \"urn:uuid:1\",\n  \"type\":[\"VerifiableCredential\"] }\n"
	c := cred("alice", "urn:uuid:1", t0, data)
	c.Source = store.SourceUpserted
	created, err := s.PutCredential(ctx, c)
	must(t, err, "put")
	if !created {
		t.Fatal("first PutCredential reported replaced")
	}
	got, err := s.GetCredential(ctx, "alice", "urn:uuid:1")
	must(t, err, "get")
	if !bytes.Equal(got.Data, []byte(data)) || got.Source != store.SourceUpserted || !got.CreatedAt.Equal(t0) {
		t.Fatalf("credential round trip: %+v (%q)", got, got.Data)
	}

	jws := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"
	c2 := &store.Credential{ID: "urn:uuid:1", LearnerID: "alice", Issuer: "did:web:u.example", Type: "ClrCredential",
		Format: store.FormatJWS, Data: []byte(jws), Source: store.SourceUpserted, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}
	created, err = s.PutCredential(ctx, c2)
	must(t, err, "replace")
	if created {
		t.Fatal("second PutCredential reported created")
	}
	if !c2.CreatedAt.Equal(t0) {
		t.Fatalf("replace must report the original CreatedAt, got %v", c2.CreatedAt)
	}
	got, err = s.GetCredential(ctx, "alice", "urn:uuid:1")
	must(t, err, "get replaced")
	if string(got.Data) != jws || got.Format != store.FormatJWS || got.Type != "ClrCredential" ||
		!got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("replaced credential: %+v", got)
	}
	// Same id for another learner is another credential.
	_, err = s.GetCredential(ctx, "bob", "urn:uuid:1")
	wantErr(t, err, store.ErrNotFound, "other learner")
	bobs := cred("bob", "urn:uuid:1", t0, `{"bob":1}`)
	bobs.Source = store.SourceUpserted
	_, err = s.PutCredential(ctx, bobs)
	must(t, err, "put bob's copy")
	issued := cred("carol", "urn:uuid:1", t0.Add(2*time.Hour), `{"issued":true}`)
	_, err = s.PutCredential(ctx, issued)
	must(t, err, "put issued copy")
	byID, err := s.GetCredentialByID(ctx, "urn:uuid:1")
	must(t, err, "by id")
	if byID.LearnerID != "carol" || byID.Source != store.SourceIssued {
		t.Fatalf("GetCredentialByID must prefer the issued credential, got %s/%s", byID.LearnerID, byID.Source)
	}
	_, err = s.GetCredentialByID(ctx, "urn:uuid:none")
	wantErr(t, err, store.ErrNotFound, "by unknown id")

	must(t, s.DeleteCredential(ctx, "bob", "urn:uuid:1"), "delete")
	wantErr(t, s.DeleteCredential(ctx, "bob", "urn:uuid:1"), store.ErrNotFound, "delete twice")
}

func testCredentialPaging(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	const n = 25
	for i := 0; i < n; i++ {
		c := cred("alice", fmt.Sprintf("urn:uuid:%02d", i), t0.Add(time.Duration(i)*time.Second), fmt.Sprintf(`{"n":%d}`, i))
		if i%5 == 0 {
			c.Type = "ClrCredential"
		}
		_, err := s.PutCredential(ctx, c)
		must(t, err, "put")
	}
	_, err := s.PutCredential(ctx, cred("bob", "urn:uuid:bob", t0, `{}`))
	must(t, err, "put bob")

	var seen []string
	for off := 0; off < n; off += 10 {
		page, total, err := s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "alice", Limit: 10, Offset: off})
		must(t, err, "list")
		if total != n {
			t.Fatalf("total = %d, want %d", total, n)
		}
		if want := min(10, n-off); len(page) != want {
			t.Fatalf("page at %d has %d items, want %d", off, len(page), want)
		}
		for _, c := range page {
			seen = append(seen, c.ID)
		}
	}
	for i, id := range seen {
		if want := fmt.Sprintf("urn:uuid:%02d", i); id != want {
			t.Fatalf("item %d = %s, want %s (ordered by update time)", i, id, want)
		}
	}
	page, total, err := s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "alice", Limit: 10, Offset: 100})
	must(t, err, "list past end")
	if len(page) != 0 || total != n {
		t.Fatalf("past the end: %d items, total %d", len(page), total)
	}
	page, total, err = s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "alice", Since: t0.Add(20 * time.Second)})
	must(t, err, "list since")
	if len(page) != 5 || total != 5 || page[0].ID != "urn:uuid:20" {
		t.Fatalf("since: %d items, total %d", len(page), total)
	}
	page, total, err = s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "alice", Type: "ClrCredential", Limit: 2})
	must(t, err, "list by type")
	if len(page) != 2 || total != 5 {
		t.Fatalf("by type: %d items, total %d", len(page), total)
	}
	// A replaced credential moves to the end (its UpdatedAt changed).
	c := cred("alice", "urn:uuid:03", t0.Add(time.Hour), `{"n":"3b"}`)
	_, err = s.PutCredential(ctx, c)
	must(t, err, "replace")
	page, _, err = s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "alice", Since: t0.Add(30 * time.Minute)})
	must(t, err, "list since after replace")
	if len(page) != 1 || page[0].ID != "urn:uuid:03" {
		t.Fatalf("replaced credential not found by since: %v", page)
	}
	page, total, err = s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "nobody"})
	must(t, err, "list empty")
	if len(page) != 0 || total != 0 {
		t.Fatalf("empty learner: %d/%d", len(page), total)
	}
	// ListCredentialData pages exactly as ListCredentials does.
	jws := cred("alice", "urn:uuid:jws", t0.Add(2*time.Hour), `x`)
	jws.Format, jws.Data = store.FormatJWS, []byte("eyJhbGciOiJFZERTQSJ9.e30.c2ln")
	_, err = s.PutCredential(ctx, jws)
	must(t, err, "put jws")
	for _, q := range []store.CredentialQuery{
		{LearnerID: "alice", Limit: 10},
		{LearnerID: "alice", Limit: 10, Offset: 20},
		{LearnerID: "alice", Limit: 10, Offset: 100},
		{LearnerID: "alice", Since: t0.Add(20 * time.Second)},
		{LearnerID: "alice", Type: "ClrCredential", Limit: 2, Offset: 1},
		{LearnerID: "alice", Format: store.FormatJWS},
		{LearnerID: "nobody"},
	} {
		want, wantTotal, err := s.ListCredentials(ctx, q)
		must(t, err, "list")
		var got []string
		total, err := s.ListCredentialData(ctx, q, func(format string, data []byte) error {
			got = append(got, format+" "+string(data))
			return nil
		})
		must(t, err, "list data")
		if total != wantTotal || len(got) != len(want) {
			t.Fatalf("ListCredentialData(%+v): %d items, total %d; ListCredentials: %d, %d", q, len(got), total, len(want), wantTotal)
		}
		for i, c := range want {
			if got[i] != c.Format+" "+string(c.Data) {
				t.Fatalf("ListCredentialData(%+v) item %d = %q, want %q", q, i, got[i], c.Format+" "+string(c.Data))
			}
		}
	}
	stop := errors.New("stop")
	if _, err := s.ListCredentialData(ctx, store.CredentialQuery{LearnerID: "alice"}, func(string, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("ListCredentialData must return the callback's error, got %v", err)
	}
	_, err = s.ListCredentialData(ctx, store.CredentialQuery{}, func(string, []byte) error { return nil })
	wantErr(t, err, store.ErrInvalid, "list data without learner")
}

func testInsertCredentials(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	var batch []*store.Credential
	for i := 0; i < 1200; i++ {
		batch = append(batch, cred(fmt.Sprintf("l%d", i%100), fmt.Sprintf("urn:uuid:b%d", i), t0, `{}`))
	}
	must(t, s.InsertCredentials(ctx, batch), "bulk insert")
	_, total, err := s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "l7"})
	must(t, err, "list")
	if total != 12 {
		t.Fatalf("learner l7 has %d credentials, want 12", total)
	}
	// A duplicate in a later chunk fails the whole batch: nothing of it stays.
	var second []*store.Credential
	for i := 0; i < 900; i++ {
		second = append(second, cred("m", fmt.Sprintf("urn:uuid:m%d", i), t0, `{}`))
	}
	second = append(second, cred("l0", "urn:uuid:b0", t0, `{}`))
	wantErr(t, s.InsertCredentials(ctx, second), store.ErrConflict, "bulk insert with a duplicate")
	_, total, err = s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "m"})
	must(t, err, "list")
	if total != 0 {
		t.Fatalf("failed batch left %d credentials behind", total)
	}
}

// testCredentialsVersion: every kind of write to a learner's credentials
// changes the learner's version, reads do not, and no version is reported
// while a transaction that wrote them is open.
func testCredentialsVersion(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	version := func(what string) uint64 {
		t.Helper()
		v, ok := s.CredentialsVersion("ada")
		if ok != h.CredentialVersions {
			t.Fatalf("%s: CredentialsVersion ok = %v, want %v", what, ok, h.CredentialVersions)
		}
		return v
	}
	v := version("empty store")
	if !h.CredentialVersions {
		must(t, s.InTx(ctx, func(tx store.Store) error {
			return tx.InsertCredentials(ctx, []*store.Credential{cred("ada", "urn:uuid:v0", t0, `{}`)})
		}), "insert")
		version("after a write")
		return
	}
	changed := func(what string) {
		t.Helper()
		if n := version(what); n == v {
			t.Fatalf("%s: version still %d", what, v)
		} else {
			v = n
		}
	}
	_, err := s.PutCredential(ctx, cred("ada", "urn:uuid:v1", t0, `{"n":1}`))
	must(t, err, "put")
	changed("after PutCredential (insert)")
	if _, _, err := s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "ada"}); err != nil {
		t.Fatal(err)
	}
	if n := version("after a read"); n != v {
		t.Fatalf("a read changed the version from %d to %d", v, n)
	}
	_, err = s.PutCredential(ctx, cred("ada", "urn:uuid:v1", t0, `{"n":2}`))
	must(t, err, "replace")
	changed("after PutCredential (replace)")
	must(t, s.InsertCredentials(ctx, []*store.Credential{cred("ada", "urn:uuid:v2", t0, `{}`), cred("bob", "urn:uuid:v3", t0, `{}`)}), "insert")
	changed("after InsertCredentials")
	must(t, s.DeleteCredential(ctx, "ada", "urn:uuid:v2"), "delete")
	changed("after DeleteCredential")
	// Inside a transaction that wrote them, and until it ends, there is no
	// version: a reader must not cache what it reads meanwhile.
	must(t, s.InTx(ctx, func(tx store.Store) error {
		if err := tx.InsertCredentials(ctx, []*store.Credential{cred("ada", "urn:uuid:v4", t0, `{}`)}); err != nil {
			return err
		}
		if _, ok := s.CredentialsVersion("ada"); ok {
			return errors.New("a version was reported while a transaction writing the credentials was open")
		}
		if _, ok := tx.CredentialsVersion("ada"); ok {
			return errors.New("a transaction reported a version")
		}
		return nil
	}), "transaction")
	changed("after a committed transaction")
	_ = s.InTx(ctx, func(tx store.Store) error {
		if _, err := tx.PutCredential(ctx, cred("ada", "urn:uuid:v5", t0, `{}`)); err != nil {
			return err
		}
		return errBoom
	})
	// A rolled-back write changed nothing, but a new version is harmless
	// (one cache miss) and the version must be reported again.
	changed("after a rolled-back transaction")
}

// testCredentialsVersionConcurrent checks the promise readers rely on:
// when the version is the same before a read and after a later one, the two
// reads saw the same credentials, however writers interleave.
func testCredentialsVersionConcurrent(t *testing.T, h Harness) {
	if !h.CredentialVersions {
		t.Skip("this store reports no versions (covered by CredentialsVersion)")
	}
	ctx := context.Background()
	s := h.open(t)
	const writes = 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range writes {
			var err error
			if i%2 == 0 {
				_, err = s.PutCredential(ctx, cred("ada", fmt.Sprintf("urn:uuid:c%d", i), t0, `{}`))
			} else {
				err = s.InTx(ctx, func(tx store.Store) error {
					return tx.InsertCredentials(ctx, []*store.Credential{cred("ada", fmt.Sprintf("urn:uuid:c%d", i), t0, `{}`)})
				})
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				v, ok := s.CredentialsVersion("ada")
				if !ok {
					continue
				}
				_, n1, err := s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "ada", Limit: 1})
				if err != nil {
					errs <- err
					return
				}
				_, n2, err := s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "ada", Limit: 1})
				if err != nil {
					errs <- err
					return
				}
				if v2, ok := s.CredentialsVersion("ada"); ok && v2 == v && n1 != n2 {
					errs <- fmt.Errorf("version %d unchanged, but the credentials went from %d to %d", v, n1, n2)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, n, err := s.ListCredentials(ctx, store.CredentialQuery{LearnerID: "ada"})
	must(t, err, "list")
	if n != writes {
		t.Fatalf("%d credentials stored, want %d", n, writes)
	}
}

var errBoom = errors.New("boom")

func testTransactions(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	err := s.InTx(ctx, func(tx store.Store) error {
		if _, err := tx.EnsureLearner(ctx, "rolled", t0); err != nil {
			return err
		}
		if _, err := tx.PutCredential(ctx, cred("rolled", "urn:x", t0, `{}`)); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.GetCredential(ctx, "rolled", "urn:x"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return errBoom
	})
	wantErr(t, err, errBoom, "InTx error")
	if _, err := s.GetLearner(ctx, "rolled"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back learner exists: %v", err)
	}
	if _, err := s.GetCredential(ctx, "rolled", "urn:x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back credential exists: %v", err)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic inside InTx was swallowed")
			}
		}()
		_ = s.InTx(ctx, func(tx store.Store) error {
			if _, err := tx.EnsureLearner(ctx, "panicked", t0); err != nil {
				return err
			}
			panic("inside tx")
		})
	}()
	if _, err := s.GetLearner(ctx, "panicked"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("write of a panicked transaction persisted: %v", err)
	}

	must(t, s.InTx(ctx, func(tx store.Store) error {
		if _, err := tx.EnsureLearner(ctx, "kept", t0); err != nil {
			return err
		}
		// Nested InTx joins the outer transaction.
		return tx.InTx(ctx, func(inner store.Store) error {
			_, err := inner.PutCredential(ctx, cred("kept", "urn:y", t0, `{}`))
			return err
		})
	}), "committed tx")
	if _, err := s.GetCredential(ctx, "kept", "urn:y"); err != nil {
		t.Fatalf("committed credential missing: %v", err)
	}
	// The store stays usable after all of that (no leaked connection).
	must(t, s.Ping(ctx), "ping after transactions")
}

func testRecordsIdempotency(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	rec := &store.LearningRecord{ID: "rec-1", LearnerID: "alice", Issuer: "state-u", Kind: "course",
		Data: json.RawMessage(`{"title":"Biology 101","grade":"A"}`), CredentialIDs: []string{"urn:uuid:c1"}, CreatedAt: t0}
	must(t, s.CreateLearningRecord(ctx, rec), "create record")
	wantErr(t, s.CreateLearningRecord(ctx, rec), store.ErrConflict, "duplicate record")
	got, err := s.GetLearningRecord(ctx, "rec-1")
	must(t, err, "get record")
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("record round trip: %+v", got)
	}
	must(t, s.CreateLearningRecord(ctx, &store.LearningRecord{ID: "rec-2", LearnerID: "alice", Kind: "internship",
		Data: json.RawMessage(`{}`), CreatedAt: t0.Add(time.Second)}), "create record 2")
	list, err := s.ListLearningRecords(ctx, "alice")
	must(t, err, "list records")
	if len(list) != 2 || list[0].ID != "rec-1" || list[1].ID != "rec-2" || len(list[1].CredentialIDs) != 0 {
		t.Fatalf("records: %+v", list)
	}

	// An issuance and its idempotency key commit together or not at all.
	issue := func(key string, fail bool) error {
		return s.InTx(ctx, func(tx store.Store) error {
			if _, err := tx.PutCredential(ctx, cred("alice", "urn:idem:"+key, t0, `{}`)); err != nil {
				return err
			}
			if err := tx.PutIdempotency(ctx, &store.IdempotencyRecord{ClientID: "sis", Key: key, RequestHash: "h",
				StatusCode: 201, Response: []byte(`{"ok":true}`), CreatedAt: t0}); err != nil {
				return err
			}
			if fail {
				return errBoom
			}
			return nil
		})
	}
	wantErr(t, issue("k1", true), errBoom, "failed issuance")
	if _, err := s.GetIdempotency(ctx, "sis", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("idempotency key of a rolled back issuance persisted: %v", err)
	}
	must(t, issue("k1", false), "issuance")
	wantErr(t, issue("k1", false), store.ErrConflict, "retried key")
	r, err := s.GetIdempotency(ctx, "sis", "k1")
	must(t, err, "get idempotency")
	if r.StatusCode != 201 || string(r.Response) != `{"ok":true}` || r.RequestHash != "h" {
		t.Fatalf("idempotency record: %+v", r)
	}
	// Keys are per client.
	must(t, s.PutIdempotency(ctx, &store.IdempotencyRecord{ClientID: "other", Key: "k1", StatusCode: 200, CreatedAt: t0}), "same key other client")
}

func testStatusLists(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	type alloc struct {
		list string
		idx  int
	}
	var got []alloc
	for i := 0; i < 7; i++ {
		e, err := s.AllocateStatusIndex(ctx, "state-u", "revocation", fmt.Sprintf("urn:c%d", i), 3, t0)
		must(t, err, "allocate")
		got = append(got, alloc{e.ListID, e.Index})
		if e.Purpose != "revocation" || e.CredentialID != fmt.Sprintf("urn:c%d", i) {
			t.Fatalf("entry %+v", e)
		}
	}
	for i, a := range got {
		if a.idx != i%3 {
			t.Fatalf("allocation %d got index %d, want %d", i, a.idx, i%3)
		}
		if i > 0 && i%3 != 0 && a.list != got[i-1].list {
			t.Fatalf("allocation %d switched list before the list was full", i)
		}
		if i%3 == 0 && i > 0 && a.list == got[i-1].list {
			t.Fatalf("allocation %d did not open a new list", i)
		}
	}
	// Purposes and issuers have independent lists.
	e, err := s.AllocateStatusIndex(ctx, "state-u", "suspension", "urn:c0", 3, t0)
	must(t, err, "allocate suspension")
	if e.Index != 0 || e.ListID == got[0].list {
		t.Fatalf("suspension entry %+v", e)
	}
	lists, err := s.ListStatusLists(ctx, "state-u")
	must(t, err, "list lists")
	if len(lists) != 4 {
		t.Fatalf("%d lists, want 4 (3 revocation + 1 suspension)", len(lists))
	}
	all, err := s.ListStatusLists(ctx, "")
	must(t, err, "list all lists")
	if len(all) != 4 {
		t.Fatalf("%d lists in total, want 4", len(all))
	}

	entries, err := s.StatusEntriesForCredential(ctx, "urn:c0")
	must(t, err, "entries for credential")
	if len(entries) != 2 {
		t.Fatalf("urn:c0 has %d entries, want 2", len(entries))
	}
	must(t, s.SetStatusEntry(ctx, got[1].list, got[1].idx, true, t0.Add(time.Minute)), "set bit")
	must(t, s.SetStatusEntry(ctx, got[2].list, got[2].idx, true, t0.Add(time.Minute)), "set bit")
	wantErr(t, s.SetStatusEntry(ctx, got[0].list, 99, true, t0), store.ErrNotFound, "set unallocated bit")
	set, err := s.SetStatusIndexes(ctx, got[0].list)
	must(t, err, "set indexes")
	if !reflect.DeepEqual(set, []int{1, 2}) {
		t.Fatalf("set indexes = %v, want [1 2]", set)
	}
	must(t, s.SetStatusEntry(ctx, got[1].list, got[1].idx, false, t0.Add(2*time.Minute)), "clear bit")
	set, _ = s.SetStatusIndexes(ctx, got[0].list)
	if !reflect.DeepEqual(set, []int{2}) {
		t.Fatalf("set indexes after clearing = %v", set)
	}
	l, err := s.GetStatusList(ctx, got[0].list)
	must(t, err, "get list")
	if !l.ChangedAt.Equal(t0.Add(2*time.Minute)) || l.Credential != nil || l.Size != 3 || l.NextIndex != 3 || l.Seq != 1 {
		t.Fatalf("list %+v", l)
	}
	must(t, s.PutStatusListCredential(ctx, l.ID, []byte("signed"), "jws", t0.Add(3*time.Minute)), "put list credential")
	l, _ = s.GetStatusList(ctx, l.ID)
	if string(l.Credential) != "signed" || l.Format != "jws" || !l.SignedAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("list after signing %+v", l)
	}
	_, err = s.GetStatusList(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown list")
}

func testStatusConcurrent(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	const n = 60
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			e, err := s.AllocateStatusIndex(ctx, "state-u", "revocation", fmt.Sprintf("urn:p%d", i), 16, t0)
			if err != nil {
				t.Errorf("allocate %d: %v", i, err)
				return
			}
			key := fmt.Sprintf("%s#%d", e.ListID, e.Index)
			mu.Lock()
			defer mu.Unlock()
			if seen[key] {
				t.Errorf("index %s handed out twice", key)
			}
			seen[key] = true
		}(i)
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct indexes for %d allocations", len(seen), n)
	}
	lists, err := s.ListStatusLists(ctx, "state-u")
	must(t, err, "lists")
	if len(lists) != 4 { // ceil(60/16)
		t.Fatalf("%d lists for 60 entries of 16, want 4", len(lists))
	}
}

func testCredentialStatus(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	_, err := s.GetCredentialStatus(ctx, "urn:c")
	wantErr(t, err, store.ErrNotFound, "never changed")
	st := &store.CredentialStatus{CredentialID: "urn:c", Suspended: true, Reason: "under review", UpdatedAt: t0}
	must(t, s.PutCredentialStatus(ctx, st), "suspend")
	got, err := s.GetCredentialStatus(ctx, "urn:c")
	must(t, err, "get")
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("status round trip %+v", got)
	}
	st2 := &store.CredentialStatus{CredentialID: "urn:c", Revoked: true, Reason: "issued in error", UpdatedAt: t0.Add(time.Hour)}
	must(t, s.PutCredentialStatus(ctx, st2), "revoke")
	got, _ = s.GetCredentialStatus(ctx, "urn:c")
	if !reflect.DeepEqual(got, st2) {
		t.Fatalf("status after revoke %+v", got)
	}
}

func testShareLinks(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	l := &store.ShareLink{TokenHash: "th1", LearnerID: "alice", CredentialID: "urn:c1", CreatedAt: t0}
	must(t, s.CreateShareLink(ctx, l), "create")
	wantErr(t, s.CreateShareLink(ctx, l), store.ErrConflict, "duplicate")
	must(t, s.CreateShareLink(ctx, &store.ShareLink{TokenHash: "th2", LearnerID: "alice", CredentialID: "urn:c2", CreatedAt: t0.Add(time.Second)}), "create 2")
	got, err := s.GetShareLink(ctx, "th1")
	must(t, err, "get")
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("share link round trip %+v", got)
	}
	must(t, s.RevokeShareLink(ctx, "th1", t0.Add(time.Minute)), "revoke")
	got, _ = s.GetShareLink(ctx, "th1")
	if got.RevokedAt == nil || !got.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("revoked link %+v", got)
	}
	wantErr(t, s.RevokeShareLink(ctx, "nope", t0), store.ErrNotFound, "revoke unknown")
	all, err := s.ListShareLinks(ctx, "alice", "")
	must(t, err, "list all")
	one, err := s.ListShareLinks(ctx, "alice", "urn:c2")
	must(t, err, "list one")
	if len(all) != 2 || len(one) != 1 || one[0].TokenHash != "th2" {
		t.Fatalf("share links: all=%d one=%v", len(all), one)
	}
}

func testInvalid(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	checks := map[string]error{
		"client without id":    s.CreateClient(ctx, &store.Client{}),
		"token without kind":   s.CreateToken(ctx, &store.Token{Hash: "h", ClientID: "c"}),
		"code without learner": s.CreateAuthCode(ctx, &store.AuthCode{CodeHash: "h", ClientID: "c"}),
		"credential bad format": func() error {
			c := cred("a", "b", t0, "{}")
			c.Format = "xml"
			_, err := s.PutCredential(ctx, c)
			return err
		}(),
		"credential empty data": func() error { _, err := s.PutCredential(ctx, cred("a", "b", t0, "")); return err }(),
		"credential bad source": func() error {
			c := cred("a", "b", t0, "{}")
			c.Source = "x"
			_, err := s.PutCredential(ctx, c)
			return err
		}(),
		"profile not JSON":        func() error { _, err := s.PutLearnerProfile(ctx, "a", json.RawMessage(`{`), t0); return err }(),
		"status list size 0":      func() error { _, err := s.AllocateStatusIndex(ctx, "i", "p", "c", 0, t0); return err }(),
		"record without kind":     s.CreateLearningRecord(ctx, &store.LearningRecord{ID: "r", LearnerID: "a", Data: json.RawMessage(`{}`)}),
		"list without learner":    func() error { _, _, err := s.ListCredentials(ctx, store.CredentialQuery{}); return err }(),
		"idempotency without key": s.PutIdempotency(ctx, &store.IdempotencyRecord{ClientID: "c"}),
	}
	for name, err := range checks {
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.GetCredential(ctx, "a", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an invalid credential was stored: %v", err)
	}
}
