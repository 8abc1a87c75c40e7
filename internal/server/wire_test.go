package server

import (
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/clrapi"
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

// TestPageCacheSize: server.pageCacheBytes wins (0 = no cache, which
// clrapi spells negative); unset, the cache takes a quarter of the
// container's memory limit up to clrapi's default, or that default
// without a known limit.
func TestPageCacheSize(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		name       string
		configured *int64
		limit      int64
		want       int64
	}{
		{"unset, no limit", nil, 0, clrapi.DefaultPageCacheBytes},
		{"unset, 128Mi limit", nil, 128 << 20, 32 << 20},
		{"unset, 100Mi limit", nil, 100 << 20, 25 << 20},
		{"unset, 256Mi limit reaches the cap", nil, 256 << 20, clrapi.DefaultPageCacheBytes},
		{"unset, 1Gi limit is capped", nil, 1 << 30, clrapi.DefaultPageCacheBytes},
		{"configured 0 is off", n(0), 128 << 20, -1},
		{"configured wins over the limit", n(8 << 20), 1 << 30, 8 << 20},
		{"configured may exceed the automatic cap", n(256 << 20), 0, 256 << 20},
	} {
		cfg := &serverconfig.Config{Server: serverconfig.Server{PageCacheBytes: c.configured}}
		o := apiOptions(&app.Deps{Config: cfg, MemoryLimit: c.limit}, "t")
		if o.PageCacheBytes != c.want {
			t.Errorf("%s: clrapi PageCacheBytes %d, want %d", c.name, o.PageCacheBytes, c.want)
		}
	}
}
