package resolve

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// Contexts of the DID documents built for did:key.
const (
	DIDContext      = "https://www.w3.org/ns/did/v1"
	MultikeyContext = "https://w3id.org/security/multikey/v1"
)

// VerificationMethod is one key of a DID document or controller document.
type VerificationMethod struct {
	ID                 string         `json:"id"`
	Type               string         `json:"type"`
	Controller         string         `json:"controller"`
	PublicKeyMultibase string         `json:"publicKeyMultibase,omitempty"`
	PublicKeyJwk       map[string]any `json:"publicKeyJwk,omitempty"`
}

// PublicKey decodes the method's key material according to its type.
func (vm VerificationMethod) PublicKey() (crypto.PublicKey, error) {
	switch vm.Type {
	case "Multikey", "Ed25519VerificationKey2020":
		if vm.PublicKeyMultibase == "" {
			return nil, fmt.Errorf("%w: %s %s has no publicKeyMultibase", ErrKeyNotFound, vm.Type, vm.ID)
		}
		return keys.ParseMultikey(vm.PublicKeyMultibase)
	case "JsonWebKey", "JsonWebKey2020":
		if vm.PublicKeyJwk == nil {
			return nil, fmt.Errorf("%w: %s %s has no publicKeyJwk", ErrKeyNotFound, vm.Type, vm.ID)
		}
		return keys.ParsePublicJWK(vm.PublicKeyJwk)
	}
	return nil, fmt.Errorf("%w: verification method type %q", ErrUnsupported, vm.Type)
}

// Document is a DID document or controller document, reduced to what key
// resolution needs. Relative method ids ("#key-1") are made absolute.
type Document struct {
	ID                 string
	VerificationMethod []VerificationMethod
	// AssertionMethod lists the ids of the methods allowed to issue
	// credentials; nil when the document has no assertionMethod.
	AssertionMethod []string
}

// ParseDocument reads a DID or controller document. Methods embedded in
// assertionMethod are added to VerificationMethod.
func ParseDocument(data []byte) (*Document, error) {
	var raw struct {
		ID                 string            `json:"id"`
		VerificationMethod []json.RawMessage `json:"verificationMethod"`
		AssertionMethod    []json.RawMessage `json:"assertionMethod"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("document is not a DID/controller document: %w", err)
	}
	doc := &Document{ID: raw.ID}
	abs := func(id string) string {
		if strings.HasPrefix(id, "#") {
			return raw.ID + id
		}
		return id
	}
	for _, m := range raw.VerificationMethod {
		var vm VerificationMethod
		if err := json.Unmarshal(m, &vm); err != nil {
			return nil, fmt.Errorf("verificationMethod: %w", err)
		}
		vm.ID = abs(vm.ID)
		doc.VerificationMethod = append(doc.VerificationMethod, vm)
	}
	if raw.AssertionMethod != nil {
		doc.AssertionMethod = []string{}
	}
	for _, m := range raw.AssertionMethod {
		var ref string
		if err := json.Unmarshal(m, &ref); err == nil {
			doc.AssertionMethod = append(doc.AssertionMethod, abs(ref))
			continue
		}
		var vm VerificationMethod
		if err := json.Unmarshal(m, &vm); err != nil {
			return nil, fmt.Errorf("assertionMethod: %w", err)
		}
		vm.ID = abs(vm.ID)
		doc.VerificationMethod = append(doc.VerificationMethod, vm)
		doc.AssertionMethod = append(doc.AssertionMethod, vm.ID)
	}
	return doc, nil
}

// Method returns the verification method with the given absolute id.
func (d *Document) Method(id string) (VerificationMethod, bool) {
	for _, vm := range d.VerificationMethod {
		if vm.ID == id {
			return vm, true
		}
	}
	return VerificationMethod{}, false
}

// IsAssertionMethod reports whether id may be used to issue credentials.
// A document without assertionMethod authorises none.
func (d *Document) IsAssertionMethod(id string) bool {
	for _, a := range d.AssertionMethod {
		if a == id {
			return true
		}
	}
	return false
}

// Lists reports whether the document authorises pub to issue credentials:
// one of its assertion methods, controlled by the document's subject, is
// that key. A key merely mentioned (another controller, authentication
// only) does not count.
func (d *Document) Lists(pub crypto.PublicKey) bool {
	for _, vm := range d.VerificationMethod {
		if vm.Controller != d.ID || !d.IsAssertionMethod(vm.ID) {
			continue
		}
		if k, err := vm.PublicKey(); err == nil && keys.Equal(k, pub) {
			return true
		}
	}
	return false
}

// DIDKey returns the did:key DID of a public key (Ed25519, P-256, P-384).
func DIDKey(pub crypto.PublicKey) (string, error) {
	mk, err := keys.Multikey(pub)
	if err != nil {
		return "", err
	}
	return "did:key:" + mk, nil
}

// DIDKeyDocument builds the DID document of a did:key: one Multikey method
// "<did>#<multibase>" authorised for every verification relationship.
func DIDKeyDocument(did string) (map[string]any, crypto.PublicKey, error) {
	msid, ok := strings.CutPrefix(StripFragment(did), "did:key:")
	if !ok || msid == "" {
		return nil, nil, fmt.Errorf("%w: %q is not a did:key", ErrKeyNotFound, did)
	}
	pub, err := keys.ParseMultikey(msid)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: did:key %s: %v", ErrKeyNotFound, msid, err)
	}
	id := "did:key:" + msid
	vmID := id + "#" + msid
	doc := map[string]any{
		"@context": []any{DIDContext, MultikeyContext},
		"id":       id,
		"verificationMethod": []any{map[string]any{
			"id": vmID, "type": "Multikey", "controller": id, "publicKeyMultibase": msid,
		}},
		"authentication":       []any{vmID},
		"assertionMethod":      []any{vmID},
		"capabilityInvocation": []any{vmID},
		"capabilityDelegation": []any{vmID},
	}
	return doc, pub, nil
}

// DIDWebURL maps a did:web DID to the URL of its DID document:
// did:web:example.com → https://example.com/.well-known/did.json,
// did:web:example.com:a:b → https://example.com/a/b/did.json, with a
// percent-encoded port in the host ("example.com%3A8443").
func DIDWebURL(did string) (string, error) {
	msid, ok := strings.CutPrefix(StripFragment(did), "did:web:")
	if !ok || msid == "" {
		return "", fmt.Errorf("%w: %q is not a did:web", ErrKeyNotFound, did)
	}
	parts := strings.Split(msid, ":")
	host, err := url.PathUnescape(parts[0])
	if err != nil || host == "" || strings.ContainsAny(host, "/?#@") {
		return "", fmt.Errorf("%w: did:web host %q", ErrKeyNotFound, parts[0])
	}
	path := "/.well-known"
	if len(parts) > 1 {
		segs := make([]string, 0, len(parts)-1)
		for _, p := range parts[1:] {
			s, err := url.PathUnescape(p)
			if err != nil || s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/?#") {
				return "", fmt.Errorf("%w: did:web path segment %q", ErrKeyNotFound, p)
			}
			segs = append(segs, url.PathEscape(s))
		}
		path = "/" + strings.Join(segs, "/")
	}
	u := &url.URL{Scheme: "https", Host: host, Path: path + "/did.json"}
	if _, err := url.Parse(u.String()); err != nil {
		return "", fmt.Errorf("%w: did:web %s: %v", ErrKeyNotFound, did, err)
	}
	return u.String(), nil
}

// ResolveDID returns the DID document of a did:key or did:web DID (the
// fragment, if any, is ignored). did:web documents come from Local,
// Resources (keyed by the DID or its document URL) or HTTPS.
func (r *Resolver) ResolveDID(ctx context.Context, did string) (*Document, error) {
	r.init()
	did = StripFragment(did)
	switch {
	case strings.HasPrefix(did, "did:key:"):
		m, _, err := DIDKeyDocument(did)
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(m)
		return ParseDocument(b)
	case strings.HasPrefix(did, "did:web:"):
		var data []byte
		if b, ok := r.Resources[did]; ok {
			data = b
		} else if b, ok := r.localDoc(ctx, did); ok {
			data = b
		} else {
			u, err := DIDWebURL(did)
			if err != nil {
				return nil, err
			}
			if data, err = r.Fetch(ctx, u); err != nil {
				return nil, fmt.Errorf("%w: DID document of %s: %w", ErrKeyNotFound, did, err)
			}
		}
		doc, err := ParseDocument(data)
		if err != nil {
			return nil, fmt.Errorf("%w: DID document of %s: %v", ErrKeyNotFound, did, err)
		}
		if doc.ID != did {
			return nil, fmt.Errorf("%w: DID document id %q is not %q", ErrContradicted, doc.ID, did)
		}
		return doc, nil
	}
	method := did
	if parts := strings.SplitN(did, ":", 3); len(parts) == 3 {
		method = parts[0] + ":" + parts[1]
	}
	return nil, fmt.Errorf("%w: %w: DID method %s", ErrKeyNotFound, ErrUnsupported, method)
}

func (r *Resolver) localDoc(ctx context.Context, key string) ([]byte, bool) {
	if r.Local == nil {
		return nil, false
	}
	return r.Local(ctx, key)
}
