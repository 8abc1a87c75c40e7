// Package resolve finds the public key behind a verification method or a JWS
// key id — did:key, did:web, JWKS URLs and HTTPS key documents (Multikey,
// JsonWebKey, Ed25519VerificationKey2020) — and says whether that key is
// bound to the credential's issuer or only self-certifying.
//
// Every remote read goes through Resolver.Fetch, which serves resource
// overrides (URL → local bytes, for air-gapped verification and tests) and
// the host's own documents before touching the network, honours an offline
// mode, and bounds time and size of what it reads.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of a zero Resolver.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBytes = 1 << 20
	DefaultCacheTTL = 5 * time.Minute
	maxCacheEntries = 1024
	maxRedirects    = 3
)

var (
	// ErrOffline: the document is not available locally and the resolver
	// may not use the network.
	ErrOffline = errors.New("offline: no local copy of the document")
	// ErrFetch: the document could not be retrieved (network, status, size).
	ErrFetch = errors.New("fetch failed")
	// ErrKeyNotFound: no key could be found for the verification method.
	ErrKeyNotFound = errors.New("verification key not found")
	// ErrContradicted: the controller's own documents contradict the
	// verification method (absent, other key, other controller, not an
	// assertion method).
	ErrContradicted = errors.New("verification method contradicted by its controller's documents")
	// ErrUnsupported: the DID method or key type is not supported.
	ErrUnsupported = errors.New("unsupported")
)

// Resolver resolves keys. The zero value is usable (online, with defaults);
// configure it before first use and do not change it afterwards. It is safe
// for concurrent use.
type Resolver struct {
	// Client performs HTTPS requests. Nil means a client with Timeout and
	// redirects limited to HTTPS. Tests inject the client of an httptest TLS
	// server.
	Client *http.Client
	// Timeout bounds one fetch (connection, headers and body).
	Timeout time.Duration
	// MaxBytes bounds the size of one fetched document.
	MaxBytes int64
	// CacheTTL is how long fetched documents are reused; negative disables
	// the cache.
	CacheTTL time.Duration
	// Offline forbids network access: only Resources and Local answer.
	Offline bool
	// Resources maps URLs (without fragment) to the bytes to use instead of
	// fetching them: `clr-server verify --resource URL=FILE`.
	Resources map[string][]byte
	// Local answers for the host's own documents — clr-server plugs in its
	// issuers' DID documents, key documents and status lists — without
	// network access, in online and offline mode. The key is a DID (for
	// DIDs) or a URL without fragment.
	Local func(ctx context.Context, key string) (doc []byte, ok bool)
	// BlockPrivateNetworks refuses connections to loopback, private,
	// shared (CGNAT) and link-local addresses, so a public verification
	// endpoint cannot be used to probe the host's network (SSRF). The check
	// runs on the address actually dialled, after DNS resolution, so DNS
	// rebinding does not bypass it. It applies to the default client only
	// (an injected Client brings its own transport).
	BlockPrivateNetworks bool

	once   sync.Once
	client *http.Client
	mu     sync.Mutex
	cache  map[string]cacheEntry
	now    func() time.Time
}

type cacheEntry struct {
	body    []byte
	err     error
	expires time.Time
}

func (r *Resolver) init() {
	r.once.Do(func() {
		if r.Timeout <= 0 {
			r.Timeout = DefaultTimeout
		}
		if r.MaxBytes <= 0 {
			r.MaxBytes = DefaultMaxBytes
		}
		if r.CacheTTL == 0 {
			r.CacheTTL = DefaultCacheTTL
		}
		if r.now == nil {
			r.now = time.Now
		}
		r.client = r.Client
		if r.client == nil {
			dialer := &net.Dialer{Timeout: r.Timeout}
			if r.BlockPrivateNetworks {
				dialer.Control = refusePrivate
			}
			transport := http.DefaultTransport.(*http.Transport).Clone()
			transport.Proxy = nil
			transport.DialContext = dialer.DialContext
			r.client = &http.Client{Transport: transport}
		}
		// A copy, so the injected client's own settings are kept and only
		// the redirect policy is ours.
		c := *r.client
		c.Timeout = r.Timeout
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to non-HTTPS URL %s", req.URL.Redacted())
			}
			return nil
		}
		r.client = &c
		r.cache = map[string]cacheEntry{}
	})
}

// sharedAddressSpace is RFC 6598's carrier-grade NAT range, not covered by
// net.IP.IsPrivate but just as internal.
var sharedAddressSpace = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() || sharedAddressSpace.Contains(ip) {
		return fmt.Errorf("connection to non-public address %s refused", host)
	}
	return nil
}

// StripFragment returns u without its "#..." part.
func StripFragment(u string) string {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		return u[:i]
	}
	return u
}

// Fetch returns the document at rawURL (its fragment ignored): a resource
// override, a Local document, a cached copy, or an HTTPS GET. Only https
// URLs are fetched from the network.
func (r *Resolver) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	r.init()
	key := StripFragment(rawURL)
	if b, ok := r.Resources[key]; ok {
		return b, nil
	}
	if b, ok := r.Resources[rawURL]; ok {
		return b, nil
	}
	if r.Local != nil {
		if b, ok := r.Local(ctx, key); ok {
			return b, nil
		}
	}
	if r.Offline {
		return nil, fmt.Errorf("%w: %s", ErrOffline, key)
	}
	u, err := url.Parse(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFetch, key, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s: only https URLs are fetched", ErrFetch, key)
	}
	if r.CacheTTL > 0 {
		r.mu.Lock()
		e, ok := r.cache[key]
		r.mu.Unlock()
		if ok && r.now().Before(e.expires) {
			return e.body, e.err
		}
	}
	body, err := r.get(ctx, key)
	if r.CacheTTL > 0 {
		ttl := r.CacheTTL
		if err != nil {
			// Remember failures briefly, so forty nested credentials on
			// one unreachable host cost one timeout, not forty.
			ttl = min(ttl, 30*time.Second)
		}
		r.mu.Lock()
		if len(r.cache) >= maxCacheEntries {
			for k, v := range r.cache {
				if !r.now().Before(v.expires) || len(r.cache) >= maxCacheEntries {
					delete(r.cache, k)
				}
			}
		}
		r.cache[key] = cacheEntry{body: body, err: err, expires: r.now().Add(ttl)}
		r.mu.Unlock()
	}
	return body, err
}

func (r *Resolver) get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFetch, u, err)
	}
	req.Header.Set("Accept", "application/did+ld+json, application/did+json, application/vc+ld+json, application/ld+json, application/jwk-set+json, application/json;q=0.9, */*;q=0.1")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: HTTP %d", ErrFetch, u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrFetch, u, err)
	}
	if int64(len(body)) > r.MaxBytes {
		return nil, fmt.Errorf("%w: GET %s: document larger than %d bytes", ErrFetch, u, r.MaxBytes)
	}
	return body, nil
}
