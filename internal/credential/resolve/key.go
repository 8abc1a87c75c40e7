package resolve

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// Binding says how a key relates to the credential's issuer.
type Binding string

const (
	// Bound: the key's controller is the issuer, or the issuer's own DID
	// document, key document or JWKS lists it.
	Bound Binding = "bound"
	// SelfCertifying: the key proves only itself (a did:key, a key in the
	// verification method URL's fragment, an embedded JWK) and nothing the
	// issuer published confirms it. The official validator accepts such
	// proofs; verifiers report a warning.
	SelfCertifying Binding = "self-certifying"
)

// Key is a resolved verification key.
type Key struct {
	// ID is the verification method id (or the JWS kid).
	ID         string           `json:"id"`
	Type       string           `json:"type,omitempty"`
	Controller string           `json:"controller,omitempty"`
	PublicKey  crypto.PublicKey `json:"-"`
	Algorithm  string           `json:"algorithm"`
	Binding    Binding          `json:"binding"`
	// Source says where the key came from: did:key, did:web, document
	// (HTTPS key or controller document), jwks, fragment, jwk-header.
	Source string `json:"source"`
	// Note explains the binding (why the key is only self-certifying).
	Note string `json:"note,omitempty"`
}

func newKey(id, typ, controller string, pub crypto.PublicKey, source string) (*Key, error) {
	alg, err := keys.Algorithm(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnsupported, id, err)
	}
	return &Key{ID: id, Type: typ, Controller: controller, PublicKey: pub, Algorithm: alg, Source: source}, nil
}

// ResolveMethod resolves a Data Integrity verificationMethod (or a JWS kid
// that is an absolute DID URL or URL) for a credential issued by issuer.
//
//   - did:key: the key of the DID; bound when the issuer is that DID.
//   - did:web (and other DIDs served by Local/Resources): the method of the
//     DID document, which must list it as an assertionMethod with the DID as
//     controller; bound when the issuer is the DID.
//   - https URL: the document at the URL (a key document, a controller
//     document with verificationMethod, or a JWKS selecting the fragment as
//     kid); bound when the method's controller is the issuer or the document
//     is served from the issuer's own host. When the document cannot be
//     fetched and the fragment is a Multikey (as in the official validator's
//     examples, "https://example.com/issuers/1#z6Mk..."), that key is used,
//     self-certifying.
//   - other URIs (urn:uuid:...#z6Mk...): the fragment Multikey,
//     self-certifying.
//
// A self-certifying key becomes bound when the issuer's own documents
// (its did:web DID document, or its HTTPS profile's verificationMethod) can
// be read and list it.
func (r *Resolver) ResolveMethod(ctx context.Context, method, issuer string) (*Key, error) {
	r.init()
	if method == "" {
		return nil, fmt.Errorf("%w: empty verification method", ErrKeyNotFound)
	}
	var (
		k   *Key
		err error
	)
	switch {
	case strings.HasPrefix(method, "did:key:"):
		k, err = r.didKey(method)
	case strings.HasPrefix(method, "did:"):
		k, err = r.didMethod(ctx, method)
	case strings.HasPrefix(method, "https://"):
		k, err = r.httpsMethod(ctx, method)
	default:
		k, err = fragmentKey(method, "")
	}
	if err != nil {
		return nil, err
	}
	r.bind(ctx, k, issuer)
	return k, nil
}

func (r *Resolver) didKey(method string) (*Key, error) {
	did := StripFragment(method)
	_, pub, err := DIDKeyDocument(did)
	if err != nil {
		return nil, err
	}
	msid := strings.TrimPrefix(did, "did:key:")
	if i := strings.IndexByte(method, '#'); i >= 0 && method[i+1:] != msid {
		return nil, fmt.Errorf("%w: did:key fragment %q is not the key %q", ErrContradicted, method[i+1:], msid)
	}
	k, err := newKey(did+"#"+msid, "Multikey", did, pub, "did:key")
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (r *Resolver) didMethod(ctx context.Context, method string) (*Key, error) {
	if !strings.Contains(method, "#") {
		return nil, fmt.Errorf("%w: DID URL %q has no fragment naming a method", ErrKeyNotFound, method)
	}
	did := StripFragment(method)
	doc, err := r.ResolveDID(ctx, did)
	if err != nil {
		return nil, err
	}
	vm, ok := doc.Method(method)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not in the DID document of %s", ErrContradicted, method, did)
	}
	if vm.Controller != did {
		return nil, fmt.Errorf("%w: %s has controller %q, not %s", ErrContradicted, method, vm.Controller, did)
	}
	if !doc.IsAssertionMethod(method) {
		return nil, fmt.Errorf("%w: %s is not an assertionMethod of %s", ErrContradicted, method, did)
	}
	pub, err := vm.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyNotFound, method, err)
	}
	source := "did:web"
	if !strings.HasPrefix(did, "did:web:") {
		source = "did"
	}
	return newKey(method, vm.Type, did, pub, source)
}

func (r *Resolver) httpsMethod(ctx context.Context, method string) (*Key, error) {
	data, err := r.Fetch(ctx, method)
	if err != nil {
		// Unreachable (or offline): fall back to the fragment key, which
		// is all the method URL itself can prove.
		k, ferr := fragmentKey(method, fmt.Sprintf("the document at %s could not be read (%v)", StripFragment(method), err))
		if ferr != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyNotFound, method, err)
		}
		return k, nil
	}
	k, err := keyFromDocument(method, data)
	if err != nil {
		if errors.Is(err, ErrContradicted) {
			return nil, err
		}
		// The document is readable but holds no keys (an HTML page, a
		// profile without verificationMethod): it neither confirms nor
		// contradicts the fragment key.
		fk, ferr := fragmentKey(method, fmt.Sprintf("the document at %s has no usable key (%v)", StripFragment(method), err))
		if ferr != nil {
			return nil, err
		}
		return fk, nil
	}
	// A method id that spells a key in its fragment must name that key.
	if i := strings.IndexByte(method, '#'); i >= 0 {
		if fpub, ferr := keys.ParseMultikey(method[i+1:]); ferr == nil && !keys.Equal(fpub, k.PublicKey) {
			return nil, fmt.Errorf("%w: the document at %s gives %s another key than its fragment", ErrContradicted, StripFragment(method), method)
		}
	}
	return k, nil
}

// keyFromDocument finds method in a fetched document: a JWKS, a single key
// document, or a controller document.
func keyFromDocument(method string, data []byte) (*Key, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: %s: document is not a JSON object: %v", ErrKeyNotFound, StripFragment(method), err)
	}
	frag := ""
	if i := strings.IndexByte(method, '#'); i >= 0 {
		frag = method[i+1:]
	}
	if _, isJWKS := probe["keys"]; isJWKS {
		return keyFromJWKS(method, frag, data)
	}
	if _, isController := probe["verificationMethod"]; isController {
		doc, err := ParseDocument(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKeyNotFound, StripFragment(method), err)
		}
		vm, ok := doc.Method(method)
		if !ok {
			return nil, fmt.Errorf("%w: %s is not listed in %s", ErrContradicted, method, StripFragment(method))
		}
		if doc.AssertionMethod != nil && !doc.IsAssertionMethod(method) {
			return nil, fmt.Errorf("%w: %s is not an assertionMethod", ErrContradicted, method)
		}
		pub, err := vm.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyNotFound, method, err)
		}
		return newKey(method, vm.Type, vm.Controller, pub, "document")
	}
	// A single key document.
	var vm VerificationMethod
	if err := json.Unmarshal(data, &vm); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyNotFound, method, err)
	}
	if vm.ID != method && vm.ID != StripFragment(method) {
		return nil, fmt.Errorf("%w: the document at %s describes %q, not %s", ErrContradicted, StripFragment(method), vm.ID, method)
	}
	pub, err := vm.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyNotFound, method, err)
	}
	return newKey(method, vm.Type, vm.Controller, pub, "document")
}

func keyFromJWKS(method, kid string, data []byte) (*Key, error) {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: JWKS %s: %v", ErrKeyNotFound, StripFragment(method), err)
	}
	for _, jwk := range set.Keys {
		id, _ := jwk["kid"].(string)
		if kid == "" && len(set.Keys) == 1 || id == kid && kid != "" {
			pub, err := keys.ParsePublicJWK(jwk)
			if err != nil {
				return nil, fmt.Errorf("%w: JWKS key %q: %w", ErrKeyNotFound, id, err)
			}
			return newKey(method, "JsonWebKey", "", pub, "jwks")
		}
	}
	// The fragment may be the key's thumbprint rather than its kid.
	for _, jwk := range set.Keys {
		if tp, err := keys.JWKThumbprint(jwk); err == nil && tp == kid {
			pub, err := keys.ParsePublicJWK(jwk)
			if err != nil {
				return nil, fmt.Errorf("%w: JWKS key %q: %w", ErrKeyNotFound, kid, err)
			}
			return newKey(method, "JsonWebKey", "", pub, "jwks")
		}
	}
	return nil, fmt.Errorf("%w: JWKS %s has no key %q", ErrContradicted, StripFragment(method), kid)
}

// fragmentKey takes the key from a "<uri>#<Multikey>" method id.
func fragmentKey(method, why string) (*Key, error) {
	i := strings.IndexByte(method, '#')
	if i < 0 {
		return nil, fmt.Errorf("%w: %q is neither resolvable nor carries a key in its fragment", ErrKeyNotFound, method)
	}
	pub, err := keys.ParseMultikey(method[i+1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %q is neither resolvable nor carries a key in its fragment", ErrKeyNotFound, method)
	}
	k, err := newKey(method, "Multikey", "", pub, "fragment")
	if err != nil {
		return nil, err
	}
	k.Note = "key taken from the verification method's fragment"
	if why != "" {
		k.Note += "; " + why
	}
	return k, nil
}

// bind decides the binding of a resolved key to issuer.
func (r *Resolver) bind(ctx context.Context, k *Key, issuer string) {
	switch {
	case issuer == "":
		k.Binding = SelfCertifying
		k.Note = joinNote(k.Note, "the credential names no issuer")
		return
	case k.Source == "did:key" && k.Controller == issuer,
		(k.Source == "did:web" || k.Source == "did") && k.Controller == issuer:
		k.Binding = Bound
		return
	case k.Source == "document" || k.Source == "jwks":
		if k.Controller == issuer || sameHost(issuer, k.ID) {
			k.Binding = Bound
			return
		}
	}
	if r.issuerLists(ctx, issuer, k.PublicKey) {
		k.Binding = Bound
		k.Note = joinNote(k.Note, "the issuer's own document lists the key")
		return
	}
	k.Binding = SelfCertifying
	k.Note = joinNote(k.Note, fmt.Sprintf("nothing published by the issuer %s confirms the key", issuer))
}

// issuerLists reports whether the issuer's own document (its did:web DID
// document or the document at its https id) lists pub. Failures to read it
// are not errors: the key simply stays self-certifying.
func (r *Resolver) issuerLists(ctx context.Context, issuer string, pub crypto.PublicKey) bool {
	var doc *Document
	switch {
	case strings.HasPrefix(issuer, "did:web:"):
		d, err := r.ResolveDID(ctx, issuer)
		if err != nil {
			return false
		}
		doc = d
	case strings.HasPrefix(issuer, "https://"):
		data, err := r.Fetch(ctx, issuer)
		if err != nil {
			return false
		}
		d, err := ParseDocument(data)
		if err != nil {
			return false
		}
		doc = d
	default:
		return false
	}
	return doc.Lists(pub)
}

// sameHost reports whether a method URL is served by the issuer's own host:
// the issuer's https origin, or the host of its did:web.
func sameHost(issuer, method string) bool {
	mu, err := url.Parse(method)
	if err != nil || mu.Scheme != "https" || mu.Host == "" {
		return false
	}
	host := ""
	switch {
	case strings.HasPrefix(issuer, "https://"):
		iu, err := url.Parse(issuer)
		if err != nil {
			return false
		}
		host = iu.Host
	case strings.HasPrefix(issuer, "did:web:"):
		first := strings.SplitN(strings.TrimPrefix(issuer, "did:web:"), ":", 2)[0]
		h, err := url.PathUnescape(first)
		if err != nil {
			return false
		}
		host = h
	}
	return host != "" && strings.EqualFold(host, mu.Host)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// ResolveJWS finds the key of a compact JWS (VC-JWT) from its protected
// header: kid (an absolute DID URL or URL, "#fragment" relative to the
// issuer, or a bare key id looked up in the issuer's document) and/or an
// embedded jwk. When both are present they must be the same key. An
// embedded key alone is self-certifying unless the issuer's documents list
// it.
func (r *Resolver) ResolveJWS(ctx context.Context, kid string, jwk map[string]any, issuer string) (*Key, error) {
	r.init()
	var embedded crypto.PublicKey
	if jwk != nil {
		pub, err := keys.ParsePublicJWK(jwk)
		if err != nil {
			return nil, fmt.Errorf("%w: jwk header: %w", ErrKeyNotFound, err)
		}
		embedded = pub
	}
	if kid == "" {
		if embedded == nil {
			return nil, fmt.Errorf("%w: the JWS header has neither kid nor jwk", ErrKeyNotFound)
		}
		k, err := newKey("", "JsonWebKey", "", embedded, "jwk-header")
		if err != nil {
			return nil, err
		}
		r.bind(ctx, k, issuer)
		return k, nil
	}
	method := kid
	switch {
	case strings.HasPrefix(kid, "#"):
		method = issuer + kid
	case !strings.Contains(kid, ":"):
		// A bare key id: the issuer's document (DID or JWKS at its URL).
		if strings.HasPrefix(issuer, "did:") {
			method = issuer + "#" + kid
		} else if strings.HasPrefix(issuer, "https://") {
			method = issuer + "#" + kid
		}
	}
	k, err := r.ResolveMethod(ctx, method, issuer)
	if err != nil {
		if embedded != nil && errors.Is(err, ErrKeyNotFound) && !errors.Is(err, ErrContradicted) {
			// The kid cannot be dereferenced; the embedded key stands on
			// its own.
			ek, kerr := newKey(kid, "JsonWebKey", "", embedded, "jwk-header")
			if kerr != nil {
				return nil, kerr
			}
			ek.Note = fmt.Sprintf("kid could not be resolved (%v)", err)
			r.bind(ctx, ek, issuer)
			return ek, nil
		}
		return nil, err
	}
	if embedded != nil && !keys.Equal(embedded, k.PublicKey) {
		return nil, fmt.Errorf("%w: the embedded jwk is not the key kid %q resolves to", ErrContradicted, kid)
	}
	return k, nil
}
