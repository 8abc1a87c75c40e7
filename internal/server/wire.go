package server

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/clrapi"
	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/publicsite"
	"github.com/learnerrecords/clr-operator/internal/server/app"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/statuslist"
)

// DefaultMounts are the handler packages of clr-server. They are mounted
// together because they depend on each other: the OAuth server authorizes
// every protected route, and the public site's verifier checks credentials
// posted to the CLR API.
func DefaultMounts() []Mount {
	return []Mount{{Name: "clr", Mount: mountAll}}
}

func mountAll(d *app.Deps, mux *http.ServeMux) error {
	cfg := d.Config
	oa, err := oauth.New(oauthOptions(d), d.Store)
	if err != nil {
		return err
	}
	host, err := issuing.NewHost(d)
	if err != nil {
		return err
	}
	site, err := publicsite.New(host, oa, publicsite.Options{
		BasePath:      d.BasePath,
		ShareLinkKey:  mustKey(d.Secrets.ShareLinkKey),
		ContextsDir:   d.ContextsDir,
		Logger:        d.Logger,
		Now:           d.Now,
		Verifications: d.Metrics.Verifications,
	})
	if err != nil {
		return err
	}
	title := "Comprehensive Learner Records"
	if len(cfg.Issuers) > 0 {
		if name, _ := cfg.Issuers[0].Profile["name"].(string); name != "" {
			title = name + " — Comprehensive Learner Records"
		}
	}
	apiOpts := apiOptions(d, title)
	d.Logger.Info("GET credentials page cache (used with SQLite only)", "bytes", max(apiOpts.PageCacheBytes, 0),
		"automatic", cfg.Server.PageCacheBytes == nil, "containerLimitBytes", d.MemoryLimit)
	api, err := clrapi.New(apiOpts, d.Store, oa, clrapi.CoreVerifier(site.Verifier()))
	if err != nil {
		return err
	}
	// The issuing API is documented in the same OpenAPI description that
	// the CLR discovery endpoint serves.
	issuing.DocumentAPI(api.Discovery(), d.BasePath)

	// Bulk issuance streams NDJSON (100,000 records are ~100 MB); its
	// handler bounds each line, so the server-wide body limit must not
	// cut the stream.
	d.BodyLimits["POST "+d.BasePath+issuing.PathBulk] = bulkMaxBody

	oa.Register(mux)
	api.Register(mux)
	issuing.NewHandler(host.Issuing, oa, d.BasePath, cfg.Server.MaxBodyBytes, d.Logger).Register(mux)
	sh := statuslist.NewHandler(host.Status, oa, d.BasePath, d.Logger)
	sh.OnChange(func(a string) { d.Metrics.StatusChanges.WithLabelValues(a).Inc() })
	sh.Register(mux)
	site.Register(mux)
	return nil
}

// bulkMaxBody bounds one bulk issuance request.
const bulkMaxBody = 2 << 30

func apiOptions(d *app.Deps, title string) clrapi.Options {
	return clrapi.Options{
		PublicURL:      d.PublicURL,
		Title:          title,
		MaxBodyBytes:   d.Config.Server.MaxBodyBytes,
		PageCacheBytes: pageCacheBytes(d.Config.Server.PageCacheBytes, d.MemoryLimit),
		Logger:         d.Logger,
		Now:            d.Now,
	}
}

// pageCacheBytes is the clrapi page cache budget (whose 0 means its
// default and a negative value no cache): server.pageCacheBytes when set
// (0: no cache), else a quarter of the container's memory limit up to
// clrapi.DefaultPageCacheBytes, so that a small pod is not half cache, or
// that default when the limit is unknown.
func pageCacheBytes(configured *int64, containerLimit int64) int64 {
	switch {
	case configured != nil && *configured == 0:
		return -1
	case configured != nil:
		return *configured
	case containerLimit > 0:
		return max(1, min(containerLimit/4, clrapi.DefaultPageCacheBytes))
	}
	return clrapi.DefaultPageCacheBytes
}

func oauthOptions(d *app.Deps) oauth.Options {
	cfg := d.Config
	o := oauth.Options{
		PublicURL:           d.PublicURL,
		Dev:                 cfg.Dev,
		DynamicRegistration: cfg.OAuth.DynamicRegistration,
		AccessTokenTTL:      cfg.OAuth.AccessTokenTTL.Duration,
		RefreshTokenTTL:     cfg.OAuth.RefreshTokenTTL.Duration,
		CodeTTL:             cfg.OAuth.AuthorizationCodeTTL.Duration,
		SessionKey:          mustKey(d.Secrets.SessionKey),
		TokenPepper:         mustKey(d.Secrets.TokenPepper),
		Logger:              d.Logger,
		Now:                 d.Now,
	}
	// oauth reads 0 as its default and a negative TTL as "no cache"; the
	// configuration's 0s means no cache.
	if ttl := cfg.OAuth.TokenCacheTTLOrDefault(); ttl > 0 {
		o.TokenCacheTTL = ttl
	} else {
		o.TokenCacheTTL = -1
	}
	if len(cfg.Issuers) > 0 {
		if name, _ := cfg.Issuers[0].Profile["name"].(string); name != "" {
			o.ServiceName = name
		}
	}
	for _, ic := range cfg.OAuth.IssuingClients {
		o.IssuingClients = append(o.IssuingClients, oauth.IssuingClient{
			ID: ic.ClientID, Secret: d.Secrets.ClientSecrets[ic.ClientID], Scopes: ic.Scopes,
		})
	}
	if oidc := cfg.OAuth.OIDC; oidc != nil {
		o.Upstream = &oauth.UpstreamOIDC{
			IssuerURL:     oidc.IssuerURL,
			ClientID:      oidc.ClientID,
			ClientSecret:  readSecretFile(oidc.ClientSecretFile),
			Scopes:        oidc.Scopes,
			UsernameClaim: oidc.UsernameClaim,
		}
	}
	return o
}

// mustKey decodes a validated secrets-file key (Validate already checked it).
func mustKey(v string) []byte {
	b, _ := serverconfig.DecodeKey(v)
	return b
}

func readSecretFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// checkSecretFiles fails early, naming the field, when a mounted secret
// file is unreadable (before anything else starts).
func checkSecretFiles(cfg *serverconfig.Config, secrets *serverconfig.InternalSecrets) error {
	if oidc := cfg.OAuth.OIDC; oidc != nil {
		b, err := os.ReadFile(oidc.ClientSecretFile)
		if err != nil {
			return fmt.Errorf("oauth.oidc.clientSecretFile: %w", err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return fmt.Errorf("oauth.oidc.clientSecretFile: %s is empty", oidc.ClientSecretFile)
		}
	}
	for i, ic := range cfg.OAuth.IssuingClients {
		if secrets.ClientSecrets[ic.ClientID] == "" {
			return fmt.Errorf("oauth.issuingClients[%d]: no secret for client %q in the secrets file", i, ic.ClientID)
		}
	}
	return nil
}
