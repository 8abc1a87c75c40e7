// Package clrapi serves the 1EdTech CLR Standard API v2.0 under
// {base}/ims/clr/v2p0/: the unprotected discovery document (an OpenAPI 3.0
// service description), a learner's ClrCredentials (list with paging and
// since, upsert of a verified credential kept byte for byte) and the
// learner's Profile. Callers are authenticated by the oauth package; every
// error answer is an Imsx_StatusInfo body (package imsx).
//
// Isolation: every query is scoped to the learner of the access token; no
// request parameter names a learner.
package clrapi

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// BasePath is the CLR 2.0 API root, relative to the public URL.
const BasePath = "/ims/clr/v2p0"

// Defaults.
const (
	// DefaultMaxBodyBytes bounds POST credentials: a whole CLR with its
	// embedded achievement credentials fits comfortably.
	DefaultMaxBodyBytes = 4 << 20
	// maxProfileBytes bounds PUT profile.
	maxProfileBytes = 64 << 10
	// DefaultPageSize applies when GET credentials has no limit.
	DefaultPageSize = 100
	// MaxPageSize caps limit.
	MaxPageSize = 1000
)

// Verifier checks a credential before it is stored. format is
// store.FormatJSON (a credential as JSON with an embedded proof) or
// store.FormatJWS (a compact JWS, VC-JWT). A non-nil error rejects the
// credential; its message is returned to the client, so it must describe
// the problem without secrets.
type Verifier interface {
	Verify(ctx context.Context, format string, data []byte) error
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, format string, data []byte) error

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, format string, data []byte) error {
	return f(ctx, format, data)
}

// Options configure the API.
type Options struct {
	// PublicURL is the external base URL without trailing slash.
	PublicURL string
	// Service description (discovery document info).
	Title          string
	Description    string
	TermsOfService string
	PrivacyPolicy  string
	Image          string
	// MaxBodyBytes bounds POST credentials bodies (default 4 MiB).
	MaxBodyBytes int64
	// PageCacheBytes bounds the memory of the GET credentials page cache
	// (default DefaultPageCacheBytes; negative: no cache). The cache is
	// used only with a store that reports credential versions (SQLite):
	// see pageCache.
	PageCacheBytes int64
	Logger         *slog.Logger
	Now            func() time.Time
}

// API is the CLR Standard API v2.0.
type API struct {
	opts      Options
	store     store.Store
	auth      *oauth.Server
	verifier  Verifier
	log       *slog.Logger
	now       func() time.Time
	discovery *Discovery
	// pages caches GET credentials responses (nil: no cache).
	pages *pageCache
	// prefix is the path of the public URL ("" or "/prefix").
	prefix string
}

// New builds the API. The verifier is mandatory: nothing is stored
// unverified.
func New(opts Options, st store.Store, auth *oauth.Server, v Verifier) (*API, error) {
	if st == nil || auth == nil || v == nil {
		return nil, errors.New("clrapi: store, authorization server and verifier are required")
	}
	u, err := url.Parse(opts.PublicURL)
	if err != nil || !u.IsAbs() || strings.HasSuffix(opts.PublicURL, "/") {
		return nil, errors.New("clrapi: PublicURL must be an absolute URL without trailing slash")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Title == "" {
		opts.Title = "Comprehensive Learner Record"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &API{opts: opts, store: st, auth: auth, verifier: v, log: opts.Logger, now: opts.Now, prefix: strings.TrimSuffix(u.Path, "/")}
	a.discovery = newDiscovery(opts, auth)
	if opts.PageCacheBytes == 0 {
		opts.PageCacheBytes = DefaultPageCacheBytes
	}
	a.pages = newPageCache(opts.PageCacheBytes)
	return a, nil
}

// Discovery is the service description, to which other packages add the
// operations they serve (the issuing API).
func (a *API) Discovery() *Discovery { return a.discovery }

// Register mounts the API on mux, under the path of the public URL.
func (a *API) Register(mux *http.ServeMux) {
	base := a.prefix + BasePath
	mux.HandleFunc("GET "+base+"/discovery", a.getDiscovery)
	mux.Handle("GET "+base+"/credentials", a.auth.Require(http.HandlerFunc(a.getCredentials), oauth.ScopeCredentialReadonly))
	mux.Handle("POST "+base+"/credentials", a.auth.Require(http.HandlerFunc(a.postCredentials), oauth.ScopeCredentialUpsert))
	mux.Handle("GET "+base+"/profile", a.auth.Require(http.HandlerFunc(a.getProfile), oauth.ScopeProfileReadonly))
	mux.Handle("PUT "+base+"/profile", a.auth.Require(http.HandlerFunc(a.putProfile), oauth.ScopeProfileUpdate))
	// Other methods and paths get an Imsx body rather than the mux's text.
	for _, p := range []string{"/discovery", "/credentials", "/profile"} {
		mux.HandleFunc(base+p, methodNotAllowed)
	}
	mux.HandleFunc(base+"/", func(w http.ResponseWriter, _ *http.Request) {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no such endpoint of the CLR 2.0 API")
	})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	allow := map[string]string{"discovery": "GET", "credentials": "GET, POST", "profile": "GET, PUT"}
	w.Header().Set("Allow", allow[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]])
	imsx.Write(w, http.StatusMethodNotAllowed, imsx.NotAllowed, "method "+r.Method+" is not allowed here")
}

// learner returns the learner of the token, answering 403 for tokens that
// do not represent a learner (institutional clients).
func learner(w http.ResponseWriter, r *http.Request) (string, bool) {
	p, ok := oauth.PrincipalFrom(r.Context())
	if !ok || p.LearnerID == "" {
		imsx.Write(w, http.StatusForbidden, imsx.Forbidden, "this endpoint needs a token authorized by a learner")
		return "", false
	}
	return p.LearnerID, true
}

// acceptsJSON implements a light content negotiation: an Accept header that
// excludes application/json is answered 406.
func acceptsJSON(w http.ResponseWriter, r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if params["q"] == "0" || params["q"] == "0.0" || params["q"] == "0.00" || params["q"] == "0.000" {
			continue
		}
		switch mt {
		case "application/json", "application/*", "*/*", "application/ld+json":
			return true
		}
	}
	imsx.Write(w, http.StatusNotAcceptable, imsx.NotAcceptable, "this endpoint answers application/json")
	return false
}
