// Package metricsauth guards the operator's metrics endpoint with the
// cluster's own authentication and authorization: a caller's bearer token
// is checked with a TokenReview, and the user it names must be allowed to
// get the non-resource URL it asks for (SubjectAccessReview), as
// kube-rbac-proxy or an aggregated apiserver would do.
//
// controller-runtime ships the same filter (pkg/metrics/filters), but it
// links k8s.io/apiserver and with it gRPC, OpenTelemetry and CEL: 30 MB of
// binary for two API calls. This package uses client-go only.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

const (
	// Decisions are cached so that a scrape every few seconds costs the
	// apiserver nothing: allowed for a minute, denied for ten seconds (a
	// RoleBinding just created takes effect quickly). Errors are not cached.
	allowTTL = time.Minute
	denyTTL  = 10 * time.Second
	// maxCached bounds the cache: callers with many distinct tokens (or an
	// attacker cycling through garbage) cannot grow it without limit.
	maxCached = 1024
	// reviewTimeout bounds each TokenReview and SubjectAccessReview.
	reviewTimeout = 10 * time.Second
)

// Reviewer decides whether a request may read the metrics.
type Reviewer struct {
	tokens authnclient.TokenReviewInterface
	access authzclient.SubjectAccessReviewInterface
	now    func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]decision
}

// decision is the outcome of the reviews for one token, verb and path.
type decision struct {
	status  int    // http.StatusOK, StatusUnauthorized or StatusForbidden
	user    string // for the log; never the token
	expires time.Time
}

// NewReviewer builds a Reviewer that asks the apiserver of cfg.
func NewReviewer(cfg *rest.Config, httpClient *http.Client) (*Reviewer, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("TokenReview client: %w", err)
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("SubjectAccessReview client: %w", err)
	}
	return &Reviewer{
		tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(),
		now:   time.Now,
		cache: map[[sha256.Size]byte]decision{},
	}, nil
}

// FilterProvider is a metricsserver.Options.FilterProvider: every request
// to the metrics server must carry a bearer token allowed to get its path.
func FilterProvider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	r, err := NewReviewer(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return r.Filter, nil
}

// Filter wraps the metrics handler.
func (r *Reviewer) Filter(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d, err := r.decide(req.Context(), req)
		if err != nil {
			// The apiserver could not answer: not the caller's fault, and
			// not a reason to let it in.
			log.Error(err, "reviewing a metrics request")
			http.Error(w, "authentication or authorization unavailable", http.StatusInternalServerError)
			return
		}
		switch d.status {
		case http.StatusOK:
			next.ServeHTTP(w, req)
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="clr-operator metrics"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		default:
			log.V(1).Info("metrics request denied", "user", d.user, "path", req.URL.Path)
			http.Error(w, fmt.Sprintf("user %q may not get %s", d.user, req.URL.Path), http.StatusForbidden)
		}
	}), nil
}

// decide authenticates and authorizes one request, from the cache when it
// can.
func (r *Reviewer) decide(ctx context.Context, req *http.Request) (decision, error) {
	token, ok := bearerToken(req)
	if !ok {
		return decision{status: http.StatusUnauthorized}, nil
	}
	verb, path := strings.ToLower(req.Method), req.URL.Path
	// The key is a digest: the cache never holds a token.
	key := sha256.Sum256([]byte(verb + "\x00" + path + "\x00" + token))
	r.mu.Lock()
	now := r.now()
	d, hit := r.cache[key]
	r.mu.Unlock()
	if hit && now.Before(d.expires) {
		return d, nil
	}

	d, err := r.ask(ctx, token, verb, path)
	if err != nil {
		return decision{}, err
	}
	ttl := denyTTL
	if d.status == http.StatusOK {
		ttl = allowTTL
	}
	d.expires = now.Add(ttl)
	r.store(key, d, now)
	return d, nil
}

// store caches a decision, dropping expired ones when the cache is full.
func (r *Reviewer) store(key [sha256.Size]byte, d decision, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCached {
		for k, old := range r.cache {
			if !now.Before(old.expires) {
				delete(r.cache, k)
			}
		}
		if len(r.cache) >= maxCached {
			clear(r.cache) // all live: start over rather than grow
		}
	}
	r.cache[key] = d
}

// ask puts the token and the request to the apiserver.
func (r *Reviewer) ask(ctx context.Context, token, verb, path string) (decision, error) {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	tr, err := r.tokens.Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
		// tr.Status.Error says why; it may quote the token's claims, so it
		// is not logged.
		return decision{status: http.StatusUnauthorized}, nil
	}
	u := tr.Status.User
	extra := make(map[string]authzv1.ExtraValue, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := r.access.Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Username, Groups: u.Groups, Extra: extra, UID: u.UID,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("SubjectAccessReview for %s: %w", u.Username, err)
	}
	if !sar.Status.Allowed || sar.Status.Denied {
		return decision{status: http.StatusForbidden, user: u.Username}, nil
	}
	return decision{status: http.StatusOK, user: u.Username}, nil
}

// bearerToken is the token of an "Authorization: Bearer" header.
func bearerToken(req *http.Request) (string, bool) {
	h := req.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
