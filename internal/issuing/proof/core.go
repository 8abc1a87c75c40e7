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
	return s.Sign(cred)
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
