package proof

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/jose"
	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/signing"
)

// Core signs with the credential core: jose for VC-JWT, dataintegrity (over
// the pinned JSON-LD contexts) for Data Integrity.
type Core struct {
	di *dataintegrity.Suite

	mu  sync.Mutex
	jwt map[string]*jose.Signer // by kid; a key renewal adds an entry
}

// NewCore returns a Core canonicalising with the contexts in contextsDir.
func NewCore(contextsDir string) *Core {
	canon := dataintegrity.NewCanonicalizer(jsonld.NewLoader(contextsDir), dataintegrity.DefaultLimits)
	return &Core{di: dataintegrity.New(canon), jwt: map[string]*jose.Signer{}}
}

// Suite is the Data Integrity suite (verifiers share its canonicalizer).
func (c *Core) Suite() *dataintegrity.Suite { return c.di }

// SignJWT implements Signer.
func (c *Core) SignJWT(_ context.Context, cred map[string]any, key *signing.Key, kid string) (string, error) {
	c.mu.Lock()
	s, ok := c.jwt[kid]
	if !ok || s == nil {
		var err error
		if s, err = jose.NewSigner(key.Signer, kid); err != nil {
			c.mu.Unlock()
			return "", err
		}
		c.jwt[kid] = s
	}
	c.mu.Unlock()
	// The claims come straight from the map: re-parsing the marshalled
	// credential (jose.Signer.Sign) would cost as much as signing it.
	raw, err := marshal(cred)
	if err != nil {
		return "", err
	}
	cl, err := claimsOf(cred)
	if err != nil {
		return "", err
	}
	return s.SignWithClaims(raw, cl)
}

// claimsOf derives the VC-JWT registered claims as jose.ClaimsFromCredential
// does: iss = issuer id, jti = id, sub = credentialSubject.id, nbf =
// validFrom, exp = validUntil.
func claimsOf(cred map[string]any) (jose.Claims, error) {
	cl := jose.Claims{}
	cl.ID, _ = cred["id"].(string)
	switch iss := cred["issuer"].(type) {
	case string:
		cl.Issuer = iss
	case map[string]any:
		cl.Issuer, _ = iss["id"].(string)
	}
	if cl.Issuer == "" {
		return cl, jose.ErrCredentialNoIssuer
	}
	if subj, ok := cred["credentialSubject"].(map[string]any); ok {
		cl.Subject, _ = subj["id"].(string)
	}
	if v, ok := cred["validFrom"].(string); ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return cl, fmt.Errorf("validFrom %q: %w", v, err)
		}
		cl.NotBefore = t
	}
	if v, ok := cred["validUntil"].(string); ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return cl, fmt.Errorf("validUntil %q: %w", v, err)
		}
		cl.Expires = &t
	}
	return cl, nil
}

// SignDataIntegrity implements Signer.
func (c *Core) SignDataIntegrity(ctx context.Context, cred map[string]any, key *signing.Key, suite, vm string, created time.Time) (map[string]any, error) {
	want, err := dataintegrity.CryptosuiteFor(key.Public())
	if err != nil {
		return nil, err
	}
	if suite != "" && suite != want {
		return nil, fmt.Errorf("cryptosuite %s is configured but the current key (%s) signs %s", suite, key.Algorithm, want)
	}
	return c.di.Sign(ctx, cred, key.Signer, dataintegrity.SignOptions{VerificationMethod: vm, Created: created})
}
