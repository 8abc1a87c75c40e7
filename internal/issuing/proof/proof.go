// Package proof signs the credentials clr-server issues, in the proof
// formats an issuer is configured for: VC-JWT (a compact JWS) and W3C Data
// Integrity (eddsa-rdfc-2022 or ecdsa-rdfc-2019), always with the issuer's
// current key from internal/signing, and names the verification method
// (the issuer DID plus the key's thumbprint) that verifiers resolve.
package proof

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/model"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/signing"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Proof formats, as named in serverconfig.Signing.ProofFormats.
const (
	FormatVCJWT         = "VC-JWT"
	FormatDataIntegrity = "DataIntegrity"
)

// ErrFormat: a proof format the issuer is not configured for.
var ErrFormat = errors.New("proof format not enabled for this issuer")

// Issuer is one issuing identity: its DID and Profile, its formats and keys.
type Issuer struct {
	Name    string
	DID     string
	Profile map[string]any
	Formats []string
	// Suite is the Data Integrity cryptosuite.
	Suite string
	// Authority lists the accreditations and legal authority the
	// institution certifies learning under (published in ProfileDocument
	// and on the verification page).
	Authority []serverconfig.Authority

	keys    *signing.IssuerKeys
	signer  Signer
	seconds *prometheus.HistogramVec
}

// Signer adds proofs; Core (the credential core's jose and dataintegrity
// packages) is the implementation used by clr-server.
type Signer interface {
	// SignJWT returns the compact JWS of the credential.
	SignJWT(ctx context.Context, cred map[string]any, key *signing.Key, kid string) (string, error)
	// SignDataIntegrity returns the credential with a DataIntegrityProof.
	SignDataIntegrity(ctx context.Context, cred map[string]any, key *signing.Key, suite, verificationMethod string, created time.Time) (map[string]any, error)
}

// Issuers builds every configured issuer. seconds may be nil.
func Issuers(cfg *serverconfig.Config, keys *signing.Set, signer Signer, seconds *prometheus.HistogramVec) (map[string]*Issuer, error) {
	out := make(map[string]*Issuer, len(cfg.Issuers))
	for _, ic := range cfg.Issuers {
		did, err := DID(ic, cfg.Server.PublicURL)
		if err != nil {
			return nil, err
		}
		k, ok := keys.Issuer(ic.Name)
		if !ok {
			return nil, fmt.Errorf("issuer %s: no signing keys loaded", ic.Name)
		}
		formats := ic.Signing.ProofFormats
		if len(formats) == 0 {
			return nil, fmt.Errorf("issuer %s: no proof formats configured", ic.Name)
		}
		for _, f := range formats {
			if f != FormatVCJWT && f != FormatDataIntegrity {
				return nil, fmt.Errorf("issuer %s: proof format %q is not %s or %s", ic.Name, f, FormatVCJWT, FormatDataIntegrity)
			}
		}
		suite := ic.Signing.Cryptosuite
		if slices.Contains(formats, FormatDataIntegrity) {
			// Fail at start, not at the first issuance: RSA keys have no
			// Data Integrity cryptosuite, and the configured suite must be
			// the key's.
			want, err := dataintegrity.CryptosuiteFor(k.Current().Public())
			if err != nil {
				return nil, fmt.Errorf("issuer %s: proof format %s: %w", ic.Name, FormatDataIntegrity, err)
			}
			if suite != "" && suite != want {
				return nil, fmt.Errorf("issuer %s: cryptosuite %q does not match the %s key (%s)", ic.Name, suite, k.Current().Algorithm, want)
			}
			suite = want
		}
		out[ic.Name] = &Issuer{Name: ic.Name, DID: did, Profile: ic.Profile, Formats: formats, Suite: suite, Authority: ic.Authority,
			keys: k, signer: signer, seconds: seconds}
	}
	return out, nil
}

// DID is the issuer's DID: the configured one, or a did:web derived from the
// public URL (host with the port as %3A, path prefix) and the issuer name,
// whose document is then served at {publicURL}/issuers/{name}/did.json.
func DID(iss serverconfig.Issuer, publicURL string) (string, error) {
	if iss.DID != "" {
		return iss.DID, nil
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("issuer %s: public URL %q has no host to derive a did:web from", iss.Name, publicURL)
	}
	parts := []string{"did:web", strings.ReplaceAll(u.Host, ":", "%3A")}
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg != "" {
			parts = append(parts, url.PathEscape(seg))
		}
	}
	parts = append(parts, "issuers", iss.Name)
	return strings.Join(parts, ":"), nil
}

// Keys are the issuer's keys (current and published).
func (i *Issuer) Keys() *signing.IssuerKeys { return i.keys }

// VerificationMethod is the DID URL of a key of this issuer.
func (i *Issuer) VerificationMethod(kid string) string { return i.DID + "#" + kid }

// DefaultFormat is the first configured format.
func (i *Issuer) DefaultFormat() string { return i.Formats[0] }

// HasFormat reports whether the issuer issues in a format.
func (i *Issuer) HasFormat(f string) bool { return slices.Contains(i.Formats, f) }

// ProfileDocument is the issuer's Open Badges Profile with id = DID.
func (i *Issuer) ProfileDocument() map[string]any {
	p := make(map[string]any, len(i.Profile)+3)
	for k, v := range i.Profile {
		p[k] = v
	}
	p["id"] = i.DID
	p["type"] = []any{model.TypeProfile}
	if _, ok := p["name"]; !ok {
		p["name"] = i.Name
	}
	// The authority is published as otherIdentifier entries after the
	// institution's own identifiers (a new slice: the configured Profile
	// is shared by every document built from it).
	var ids []any
	for _, a := range i.Authority {
		if e, ok := a.ProfileIdentifier(); ok {
			ids = append(ids, e)
		}
	}
	if len(ids) > 0 {
		var own []any
		switch v := p["otherIdentifier"].(type) {
		case []any:
			own = v
		case map[string]any:
			own = []any{v}
		}
		p["otherIdentifier"] = append(slices.Clip(own), ids...)
	}
	return p
}

// Signed is one signed credential as stored.
type Signed struct {
	// Data is the compact JWS (StoreFormat FormatJWS) or the JSON with its
	// proof (store.FormatJSON).
	Data        []byte
	StoreFormat string
	// JSON is the credential object: with its proof for Data Integrity,
	// the JWS payload's credential for VC-JWT.
	JSON map[string]any
	// Format is FormatVCJWT or FormatDataIntegrity.
	Format string
}

// Sign signs cred (which it does not modify) in format with the current key.
func (i *Issuer) Sign(ctx context.Context, cred map[string]any, format string, now time.Time) (*Signed, error) {
	if !i.HasFormat(format) {
		return nil, fmt.Errorf("%w: %q (issuer %s issues %s)", ErrFormat, format, i.Name, strings.Join(i.Formats, ", "))
	}
	key := i.keys.Current()
	start := time.Now()
	switch format {
	case FormatVCJWT:
		jws, err := i.signer.SignJWT(ctx, cred, key, i.VerificationMethod(key.KID))
		if err != nil {
			return nil, fmt.Errorf("issuer %s: sign VC-JWT: %w", i.Name, err)
		}
		i.observe(jwtAlg(key.Algorithm), start)
		return &Signed{Data: []byte(jws), StoreFormat: store.FormatJWS, JSON: cred, Format: format}, nil
	default:
		signed, err := i.signer.SignDataIntegrity(ctx, cred, key, i.Suite, i.VerificationMethod(key.KID), now)
		if err != nil {
			return nil, fmt.Errorf("issuer %s: sign Data Integrity: %w", i.Name, err)
		}
		i.observe(i.Suite, start)
		data, err := marshal(signed)
		if err != nil {
			return nil, err
		}
		return &Signed{Data: data, StoreFormat: store.FormatJSON, JSON: signed, Format: format}, nil
	}
}

func (i *Issuer) observe(suite string, start time.Time) {
	if i.seconds != nil {
		i.seconds.WithLabelValues(suite).Observe(time.Since(start).Seconds())
	}
}

// jwtAlg is the JWS alg of a key algorithm (for metrics labels).
func jwtAlg(algorithm string) string {
	switch algorithm {
	case "Ed25519":
		return "EdDSA"
	case "ECDSA-P256":
		return "ES256"
	case "ECDSA-P384":
		return "ES384"
	}
	return "RS256"
}
