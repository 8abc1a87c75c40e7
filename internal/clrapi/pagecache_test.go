package clrapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/clrapi"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// storedJWS is a stored ClrCredential as GET credentials returns it (the
// API returns stored bytes without verifying them again).
func storedJWS(learner, id string, n int, at time.Time) *store.Credential {
	return &store.Credential{
		ID: id, LearnerID: learner, Issuer: "did:example:issuer", Type: "ClrCredential", Format: store.FormatJWS,
		Data: []byte(fmt.Sprintf("eyJhbGciOiJFZERTQSJ9.eyJuIjo%d.c2ln", n)), Source: store.SourceIssued,
		CreatedAt: at, UpdatedAt: at,
	}
}

// TestPageCacheInvalidation: every way a learner's credentials change on
// this server (issuance in a transaction, replacement, deletion, upsert
// through the API) shows in the next GET credentials, while unchanged pages
// come from the cache (SQLite) or are never cached (PostgreSQL, whose other
// replicas this server does not see).
func TestPageCacheInvalidation(t *testing.T) {
	for _, sf := range stores {
		t.Run(sf.name, func(t *testing.T) {
			ctx := context.Background()
			st := sf.open(t)
			e := newEnv(t, st, nil)
			f := credentialFactory(t)
			c := e.register()
			ada, bob := e.login(c, "ada").AccessToken, e.login(c, "bob").AccessToken
			base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
			get := func(token, query string) (string, []byte) {
				t.Helper()
				resp, body := e.call(http.MethodGet, "/credentials"+query, token, "", nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET credentials%s: %d %s", query, resp.StatusCode, body)
				}
				return resp.Header.Get("X-Total-Count"), body
			}
			wantCached := func(n int) {
				t.Helper()
				want := n
				if sf.name == "postgres" {
					want = 0
				}
				if got := clrapi.CachedPages(e.api); got != want {
					t.Fatalf("%d pages cached, want %d", got, want)
				}
			}

			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(st.InsertCredentials(ctx, []*store.Credential{storedJWS("ada", "urn:uuid:a1", 1, base), storedJWS("bob", "urn:uuid:b1", 9, base)}))
			n, first := get(ada, "?limit=5")
			_, again := get(ada, "?limit=5")
			if n != "1" || !bytes.Equal(first, again) {
				t.Fatalf("ada: total %s, bodies equal %v", n, bytes.Equal(first, again))
			}
			wantCached(1)
			// Another learner, same query: her own page, never ada's.
			if n, body := get(bob, "?limit=5"); n != "1" || bytes.Equal(body, first) || !bytes.Contains(body, []byte("eyJuIjo9")) {
				t.Fatalf("bob got total %s, %s", n, body)
			}
			wantCached(2)

			// Issuance: a transaction inserting credentials.
			must(st.InTx(ctx, func(tx store.Store) error {
				return tx.InsertCredentials(ctx, []*store.Credential{storedJWS("ada", "urn:uuid:a2", 2, base.Add(time.Second))})
			}))
			if n, body := get(ada, "?limit=5"); n != "2" || !bytes.Contains(body, []byte("eyJuIjo2")) {
				t.Fatalf("after issuance: total %s, %s", n, body)
			}
			// Replacement of the same credential with new bytes.
			_, err := st.PutCredential(ctx, storedJWS("ada", "urn:uuid:a2", 3, base.Add(2*time.Second)))
			must(err)
			if n, body := get(ada, "?limit=5"); n != "2" || !bytes.Contains(body, []byte("eyJuIjo3")) || bytes.Contains(body, []byte("eyJuIjo2")) {
				t.Fatalf("after replacement: total %s, %s", n, body)
			}
			// Deletion.
			must(st.DeleteCredential(ctx, "ada", "urn:uuid:a1"))
			if n, body := get(ada, "?limit=5"); n != "1" || bytes.Contains(body, []byte("eyJuIjo1")) {
				t.Fatalf("after deletion: total %s, %s", n, body)
			}
			// Upsert through the API.
			jwsCLR := f.signedJWS(t, "urn:uuid:00000000-0000-4000-8000-0000000000a3")
			if resp, body := e.call(http.MethodPost, "/credentials", ada, "text/plain", []byte(jwsCLR)); resp.StatusCode != http.StatusCreated {
				t.Fatalf("upsert: %d %s", resp.StatusCode, body)
			}
			if n, body := get(ada, "?limit=5"); n != "2" || !bytes.Contains(body, []byte(jwsCLR)) {
				t.Fatalf("after upsert: total %s, %s", n, body)
			}
			// Bob's page was not touched by any of it, and still answers
			// the same.
			if n, body := get(bob, "?limit=5"); n != "1" || !bytes.Contains(body, []byte("eyJuIjo9")) {
				t.Fatalf("bob afterwards: total %s, %s", n, body)
			}
			// Each raw query is its own page, with its own Link header.
			resp, _ := e.call(http.MethodGet, "/credentials?limit=1&offset=1", ada, "", nil)
			if resp.Header.Get("X-Total-Count") != "2" || links(resp.Header)["prev"] == "" || links(resp.Header)["next"] != "" {
				t.Fatalf("second page: %v", resp.Header)
			}
			resp2, _ := e.call(http.MethodGet, "/credentials?limit=1&offset=1", ada, "", nil)
			if resp2.Header.Get("Link") != resp.Header.Get("Link") || resp2.Header.Get("Content-Length") != resp.Header.Get("Content-Length") {
				t.Fatalf("cached second page differs: %v vs %v", resp2.Header, resp.Header)
			}
			// Invalid queries are answered 400 and never cached.
			before := clrapi.CachedPages(e.api)
			if resp, body := e.call(http.MethodGet, "/credentials?limit=0", ada, "", nil); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("limit=0: %d %s", resp.StatusCode, body)
			}
			if got := clrapi.CachedPages(e.api); got != before {
				t.Fatalf("a rejected query changed the cache: %d → %d pages", before, got)
			}
		})
	}
}

// TestPageCacheConcurrentWrites: while credentials are issued to a learner,
// every GET credentials that starts after an issuance has returned counts
// that credential, whatever the interleaving of cached reads and writes.
func TestPageCacheConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	e := newEnv(t, st, nil)
	tok := e.login(e.register(), "ada").AccessToken
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	const writes = 60
	var committed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= writes; i++ {
			c := storedJWS("ada", fmt.Sprintf("urn:uuid:w%d", i), i, base.Add(time.Duration(i)*time.Millisecond))
			var err error
			if i%2 == 0 {
				_, err = st.PutCredential(ctx, c)
			} else {
				err = st.InTx(ctx, func(tx store.Store) error { return tx.InsertCredentials(ctx, []*store.Credential{c}) })
			}
			if err != nil {
				errs <- err
				return
			}
			committed.Store(int64(i))
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for committed.Load() < writes {
				want := committed.Load()
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+clrapi.BasePath+"/credentials?limit=1", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				n, _ := strconv.Atoi(resp.Header.Get("X-Total-Count"))
				if int64(n) < want {
					errs <- fmt.Errorf("GET credentials after %d issued credentials answered X-Total-Count %d", want, n)
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
	if clrapi.CachedPages(e.api) < 1 {
		t.Fatal("no page was cached")
	}
}
