package server

import (
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/server/app"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// TestTokenCacheTTLReachesOAuth: the configuration's oauth.tokenCacheTTL
// (unset = default, 0s = off) becomes the OAuth server's option, whose zero
// means "default" and negative means "off".
func TestTokenCacheTTLReachesOAuth(t *testing.T) {
	for _, c := range []struct {
		cfg  *serverconfig.Duration
		want time.Duration
	}{
		{nil, serverconfig.DefaultTokenCacheTTL},
		{&serverconfig.Duration{Duration: 0}, -1},
		{&serverconfig.Duration{Duration: 10 * time.Second}, 10 * time.Second},
	} {
		cfg := &serverconfig.Config{OAuth: serverconfig.OAuth{TokenCacheTTL: c.cfg}}
		o := oauthOptions(&app.Deps{Config: cfg, Secrets: &serverconfig.InternalSecrets{}})
		if o.TokenCacheTTL != c.want {
			t.Errorf("tokenCacheTTL %v: oauth option %v, want %v", c.cfg, o.TokenCacheTTL, c.want)
		}
	}
}
