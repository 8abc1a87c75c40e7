package clrapi

import (
	"container/list"
	"hash/maphash"
	"net/http"
	"strconv"
	"sync"
)

// DefaultPageCacheBytes is the memory the GET credentials page cache may
// hold by default: about 2,000 pages of ten 3 KB credentials.
const DefaultPageCacheBytes = 64 << 20

// pageCacheShards splits the cache so that concurrent requests rarely wait
// for one another's lock.
const pageCacheShards = 16

// pageCache keeps encoded GET credentials responses, so that a learner's
// wallet polling the same page costs a token check, a map lookup and a
// write instead of a database query and the assembly of tens of kilobytes.
//
// Correctness rests on the store's CredentialsVersion: a page is kept with
// the version of its learner's credentials read before the database was,
// and served only while the store reports that same version, i.e. no write
// to that learner's credentials has begun since and none is in flight. A
// POST credentials (upsert), an issuance or a deletion on this server
// therefore makes the learner's cached pages unusable before its statement
// runs, and they stay unusable. Stores that cannot see every write
// (PostgreSQL, shared by replicas) report no version, and then nothing is
// cached: there is no staleness to bound. Revocation and suspension change
// status lists, not the stored credentials, so they do not change a page.
//
// Pages are keyed by learner and the raw query string: a raw query is only
// ever stored after it parsed and validated, so a hit needs no parsing. The
// memory is bounded (least recently used pages go first); a page larger
// than a sixty-fourth of the budget is not kept.
type pageCache struct {
	seed   maphash.Seed
	shards [pageCacheShards]pageShard
}

type pageKey struct {
	learner, rawQuery string
}

type pageShard struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	entries  map[pageKey]*list.Element
	lru      list.List // of *cachedPage, most recent first
}

// cachedPage is one encoded response. Its fields are never modified once
// it is in the cache; the header values are shared by every response that
// serves it (net/http only reads them).
type cachedPage struct {
	key     pageKey
	version uint64
	body    []byte
	header  http.Header // X-Total-Count, Link, Content-Length
	size    int64
}

// pageOverhead approximates the memory of an entry besides its body.
const pageOverhead = 512

// newPageCache returns nil (no cache) for maxBytes <= 0.
func newPageCache(maxBytes int64) *pageCache {
	if maxBytes <= 0 {
		return nil
	}
	c := &pageCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].maxBytes = maxBytes / pageCacheShards
		c.shards[i].entries = map[pageKey]*list.Element{}
	}
	return c
}

func (c *pageCache) shard(k pageKey) *pageShard {
	return &c.shards[maphash.String(c.seed, k.learner)%pageCacheShards]
}

// get returns the page of k if it was cached at version.
func (c *pageCache) get(k pageKey, version uint64) *cachedPage {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[k]
	if !ok {
		return nil
	}
	p := e.Value.(*cachedPage)
	if p.version != version {
		// Written since: drop it now rather than let it age out.
		s.remove(e)
		return nil
	}
	s.lru.MoveToFront(e)
	return p
}

// put keeps a page read at version.
func (c *pageCache) put(p *cachedPage) {
	p.size = int64(len(p.body)) + int64(len(p.key.learner)+len(p.key.rawQuery)) + pageOverhead
	for _, v := range p.header {
		for _, s := range v {
			p.size += int64(len(s))
		}
	}
	s := c.shard(p.key)
	if p.size > s.maxBytes/4 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[p.key]; ok {
		s.remove(e)
	}
	for s.bytes+p.size > s.maxBytes {
		s.remove(s.lru.Back())
	}
	s.entries[p.key] = s.lru.PushFront(p)
	s.bytes += p.size
}

func (s *pageShard) remove(e *list.Element) {
	p := e.Value.(*cachedPage)
	s.lru.Remove(e)
	delete(s.entries, p.key)
	s.bytes -= p.size
}

// len is the number of cached pages (tests).
func (c *pageCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// newCachedPage freezes a response for the cache: the body is copied out of
// the pooled buffer, the headers built once.
func newCachedPage(k pageKey, version uint64, body []byte, total int, link string) *cachedPage {
	h := http.Header{
		"X-Total-Count":  {strconv.Itoa(total)},
		"Content-Length": {strconv.Itoa(len(body))},
	}
	if link != "" {
		h["Link"] = []string{link}
	}
	return &cachedPage{key: k, version: version, body: append([]byte(nil), body...), header: h}
}

// write answers the request with the cached page.
func (p *cachedPage) write(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	for k, v := range p.header {
		// Shared, never appended to in place: each value has len == cap,
		// so an append by a later handler copies it.
		h[k] = v
	}
	_, _ = w.Write(p.body)
}

var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
)
