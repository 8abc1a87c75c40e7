package oauth

import (
	"context"
	"sync"
	"time"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// DefaultTokenCacheTTL is how long a replica trusts an access token it has
// looked up without looking again. It bounds how late a revocation made on
// another replica (or directly in the database) takes effect here; a
// revocation through this server's own endpoints takes effect at once.
const DefaultTokenCacheTTL = 3 * time.Second

// maxCachedTokens bounds the cache's memory (roughly 300 bytes an entry);
// when it is full, it starts over empty rather than tracking recency.
const maxCachedTokens = 100_000

// tokenCache remembers recently authenticated access tokens (by their
// peppered hash, never the token itself) and their principals, so that a
// client sending requests back to back costs one database lookup per TTL
// instead of one per request (docs/benchmarks.md, "GET credentials under
// 200 concurrent clients": the token query was about a tenth of the
// request's CPU time). Only valid access tokens are cached: unknown,
// expired and revoked ones are looked up every time.
type tokenCache struct {
	ttl time.Duration

	mu sync.RWMutex
	// gen counts purges; a lookup that started before a purge must not
	// store what it read (it may predate the revocation).
	gen     uint64
	entries map[string]tokenEntry
}

type tokenEntry struct {
	principal Principal
	expires   time.Time // the token's own expiry, on the server's clock
	until     time.Time // end of this entry's trust, on the monotonic clock
}

func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl <= 0 {
		return nil
	}
	return &tokenCache{ttl: ttl, entries: map[string]tokenEntry{}}
}

// get returns a copy of the cached principal of a token still active at
// now (the server's clock, which tests may move), and the generation to
// pass to put after a miss. The TTL runs on the real monotonic clock, so
// that moving the server's clock cannot stretch it.
func (c *tokenCache) get(hash string, now time.Time) (*Principal, uint64) {
	c.mu.RLock()
	e, ok := c.entries[hash]
	gen := c.gen
	c.mu.RUnlock()
	if !ok || !time.Now().Before(e.until) || !now.Before(e.expires) {
		return nil, gen
	}
	p := e.principal
	return &p, gen
}

// put caches the principal of an active access token, unless the cache was
// purged since gen was read.
func (c *tokenCache) put(hash string, gen uint64, p *Principal, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[hash] = tokenEntry{principal: *p, expires: expires, until: time.Now().Add(c.ttl)}
}

// purge forgets every cached token. Revocations are rare (a learner
// disconnecting a wallet, a replayed code or refresh token), so dropping
// everything is simpler than indexing the cache by grant, and costs one
// database lookup per active client afterwards.
func (c *tokenCache) purge() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}

// revokingStore is the store as the authorization server uses it: every
// revocation made through it also purges the token cache, after the
// database has it, so this process never serves a revoked token from its
// cache.
type revokingStore struct {
	store.Store
	cache *tokenCache
}

func (s revokingStore) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	defer s.cache.purge()
	return s.Store.RevokeToken(ctx, hash, at)
}

func (s revokingStore) RevokeGrant(ctx context.Context, grantID string, at time.Time) (int, error) {
	defer s.cache.purge()
	return s.Store.RevokeGrant(ctx, grantID, at)
}
