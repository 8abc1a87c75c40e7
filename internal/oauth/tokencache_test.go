package oauth_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/oauth"
)

// TestTokenCache checks the bearer token cache's contract: a revocation
// made through this server takes effect at once even for a cached token;
// one made in the database behind the server's back (another replica) is
// seen only once the cache entry ends (here never: the TTL is an hour),
// and at once when the cache is disabled; a cached token still expires.
func TestTokenCache(t *testing.T) {
	ctx := context.Background()
	var skew atomic.Int64
	setup := func(ttl time.Duration) (*harness, func() *oauth2.Token, func(token string) int) {
		h := newHarness(t, func(o *oauth.Options) {
			o.TokenCacheTTL = ttl
			o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		})
		id, secret := h.register(t)
		cfg := h.config(id, secret)
		login := func() *oauth2.Token { return h.devLoginToken(t, cfg, "ada") }
		revoke := func(token string) int { return h.revoke(t, id, secret, token, "") }
		return h, login, revoke
	}
	// whoami authenticates twice, so that the second call is served from
	// the cache when there is one.
	whoami := func(h *harness, token string) (int, *oauth.Principal) {
		h.whoami(t, "/whoami", token)
		st, p, _ := h.whoami(t, "/whoami", token)
		return st, p
	}

	h, login, revoke := setup(time.Hour)
	// Through this server: at once, for access and for refresh tokens.
	tok := login()
	if st, p := whoami(h, tok.AccessToken); st != http.StatusOK || p.LearnerID != "ada" {
		t.Fatalf("whoami: %d %+v", st, p)
	}
	if st := revoke(tok.AccessToken); st != http.StatusOK {
		t.Fatalf("revoke: %d", st)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("cached access token revoked through this server still works: %d", st)
	}
	tok = login()
	if st, _ := whoami(h, tok.AccessToken); st != http.StatusOK {
		t.Fatalf("whoami: %d", st)
	}
	if st := revoke(tok.RefreshToken); st != http.StatusOK {
		t.Fatalf("revoke refresh: %d", st)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("cached access token of a revoked grant still works: %d", st)
	}
	// Behind the server's back: the cached entry is trusted for its TTL.
	tok = login()
	st, p := whoami(h, tok.AccessToken)
	if st != http.StatusOK {
		t.Fatalf("whoami: %d", st)
	}
	if n, err := h.st.RevokeGrant(ctx, p.GrantID, time.Now()); err != nil || n == 0 {
		t.Fatalf("revoke grant in the store: %d %v", n, err)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusOK {
		t.Fatalf("with a 1 h cache, a revocation made elsewhere should wait for the entry to end: %d", st)
	}
	// A cached token still expires on time.
	tok = login()
	if st, _ := whoami(h, tok.AccessToken); st != http.StatusOK {
		t.Fatalf("whoami: %d", st)
	}
	skew.Store(int64(oauth.DefaultAccessTokenTTL + time.Second))
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("cached access token used past its expiry: %d", st)
	}
	skew.Store(0)

	// Without the cache, a revocation made elsewhere is seen at once.
	h, login, _ = setup(-1)
	tok = login()
	st, p = whoami(h, tok.AccessToken)
	if st != http.StatusOK {
		t.Fatalf("whoami: %d", st)
	}
	if _, err := h.st.RevokeGrant(ctx, p.GrantID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("without a cache, a revoked token still works: %d", st)
	}
}
