package publicsite

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/issuing/proof"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// Contexts of the DID documents.
var didContexts = []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/jwk/v1"}

// DIDDocument is an issuer's did:web document: every published key (the
// current one and every retired one still within retention) as a
// verification method usable for assertions, so that credentials signed
// before a key renewal keep verifying. Ed25519 and ECDSA keys are Multikey;
// RSA keys (which Multikey does not carry here) are JsonWebKey.
func DIDDocument(iss *proof.Issuer) (map[string]any, error) {
	published := iss.Keys().Published()
	vms := make([]any, 0, len(published))
	refs := make([]any, 0, len(published))
	for _, k := range published {
		vm, err := verificationMethod(iss, k)
		if err != nil {
			return nil, err
		}
		vms = append(vms, vm)
		refs = append(refs, vm["id"])
	}
	return map[string]any{
		"@context":           didContexts,
		"id":                 iss.DID,
		"verificationMethod": vms,
		"assertionMethod":    refs,
	}, nil
}

func verificationMethod(iss *proof.Issuer, k serverconfig.PublishedKey) (map[string]any, error) {
	vm := map[string]any{"id": iss.VerificationMethod(k.KID), "controller": iss.DID}
	pub, err := keys.ParsePublicJWK(k.PublicKeyJWK)
	if err != nil {
		return nil, fmt.Errorf("issuer %s: published key %s: %w", iss.Name, k.KID, err)
	}
	if mk, err := keys.Multikey(pub); err == nil {
		vm["type"] = "Multikey"
		vm["publicKeyMultibase"] = mk
		return vm, nil
	}
	jwk, err := keys.PublicJWK(pub)
	if err != nil {
		return nil, fmt.Errorf("issuer %s: published key %s: %w", iss.Name, k.KID, err)
	}
	vm["type"] = "JsonWebKey"
	vm["publicKeyJwk"] = jwk
	return vm, nil
}

// JWKS is the JSON Web Key Set of every issuer: each published key with its
// kid (the RFC 7638 thumbprint), alg, use and iss (the issuer DID), so that
// a VC-JWT verifier holding the set can bind a key to its issuer.
func JWKS(issuers []*proof.Issuer) (map[string]any, error) {
	var out []any
	for _, iss := range issuers {
		for _, k := range iss.Keys().Published() {
			pub, err := keys.ParsePublicJWK(k.PublicKeyJWK)
			if err != nil {
				return nil, fmt.Errorf("issuer %s: published key %s: %w", iss.Name, k.KID, err)
			}
			jwk, err := keys.PublicJWK(pub)
			if err != nil {
				return nil, err
			}
			jwk["kid"] = k.KID
			jwk["use"] = "sig"
			jwk["alg"] = jwsAlg(k.Algorithm)
			jwk["iss"] = iss.DID
			out = append(out, jwk)
		}
	}
	if out == nil {
		out = []any{}
	}
	return map[string]any{"keys": out}, nil
}

func jwsAlg(algorithm string) string {
	switch algorithm {
	case keys.Ed25519:
		return "EdDSA"
	case keys.ECDSAP256:
		return "ES256"
	case keys.ECDSAP384:
		return "ES384"
	}
	return "RS256"
}

// didWebPath returns the path (relative to the host root) at which a did:web
// DID's document is served, and whether the DID is on host (host including
// any port).
func didWebPath(did, host string) (string, bool) {
	rest, ok := strings.CutPrefix(did, "did:web:")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, ":")
	h, err := url.PathUnescape(parts[0])
	if err != nil || !strings.EqualFold(h, host) {
		return "", false
	}
	if len(parts) == 1 {
		return "/.well-known/did.json", true
	}
	segs := make([]string, 0, len(parts)-1)
	for _, p := range parts[1:] {
		s, err := url.PathUnescape(p)
		if err != nil {
			return "", false
		}
		segs = append(segs, url.PathEscape(s))
	}
	return "/" + strings.Join(segs, "/") + "/did.json", true
}
