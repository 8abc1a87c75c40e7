package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/server/app"
)

// httpMetrics are the request collectors of the API listener.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	limited  prometheus.Counter

	children sync.Map // routeKey -> *routeCollectors
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clr", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "clr", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "clr", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "clr", Subsystem: "http", Name: "rate_limited_total",
			Help: "Requests refused by the per-client rate limit.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight, m.limited)
	return m
}

// routeKey identifies one label set of the request metrics.
type routeKey struct {
	route, method string
	status        int
}

// routeCollectors are the children of the request metrics for one label
// set.
type routeCollectors struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// forRoute returns the collectors of a label set. WithLabelValues hashes
// the labels and formats the status on every call; the label sets are few
// (routes × methods × statuses seen), so they are resolved once and kept.
func (m *httpMetrics) forRoute(route, method string, status int) *routeCollectors {
	k := routeKey{route, method, status}
	if c, ok := m.children.Load(k); ok {
		return c.(*routeCollectors)
	}
	c := &routeCollectors{
		requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
		duration: m.duration.WithLabelValues(route, method),
	}
	// Only matched routes with a standard method are kept: the method is
	// whatever the client sent, and this map must not grow with it. (Other
	// requests take the uncached path, as every request did before.)
	if route != "unmatched" && standardMethod(method) {
		m.children.Store(k, c)
	}
	return c
}

func standardMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// statusRecorder remembers the status code and size of a response. It
// keeps http.Flusher working (streamed NDJSON responses) and exposes the
// original writer to http.ResponseController through Unwrap.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestIDRE bounds what an incoming X-Request-Id may be before it is
// echoed and logged (no log injection, no unbounded labels).
var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// middleware wraps the mux: request id → access log and metrics → panic
// recovery → rate limit → body limit → mux. Order matters: the log and
// metrics see the status written by the recovery and limiter.
type middleware struct {
	log     *slog.Logger
	metrics *httpMetrics
	limiter *rateLimiter
	maxBody int64
	limits  map[string]int64 // per "METHOD /path" overrides of maxBody
	now     func() time.Time
}

func (m *middleware) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDRE.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(app.WithRequestID(r.Context(), id))
		// inner is the request the mux sees; the mux records the matched
		// pattern on it, which labels the metrics.
		limit, ok := m.limits[r.Method+" "+r.URL.Path]
		if !ok {
			limit = m.maxBody
		}
		inner := app.WithBodyLimit(r, limit)
		rec := &statusRecorder{ResponseWriter: w}
		m.metrics.inflight.Inc()
		defer func() {
			m.metrics.inflight.Dec()
			route := inner.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			c := m.metrics.forRoute(route, r.Method, status)
			c.requests.Inc()
			c.duration.Observe(elapsed.Seconds())
			// The path only: query strings carry OAuth codes and state,
			// and headers carry tokens; neither is logged.
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			m.log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("remote", remoteIP(r)),
			)
		}()
		m.recover(rec, r, func() {
			if m.limiter != nil && !m.limiter.allow(clientKey(r), m.now()) {
				m.metrics.limited.Inc()
				rec.Header().Set("Retry-After", "1")
				imsx.Write(rec, http.StatusTooManyRequests, imsx.ServerBusy, "Too many requests from this client; retry later.")
				return
			}
			next.ServeHTTP(rec, inner)
		})
	})
}

func (m *middleware) recover(w *statusRecorder, r *http.Request, serve func()) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
			panic(p)
		}
		m.log.Error("panic serving request", "request_id", app.RequestID(r.Context()),
			"path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if w.status == 0 {
			imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "Internal server error.")
		}
	}()
	serve()
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientKey identifies the client for rate limiting: the credentials it
// presents (bearer token or Basic client credentials, hashed so the key
// map never holds a secret), else its IP address.
func clientKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		sum := sha256.Sum256([]byte(a))
		return "a:" + hex.EncodeToString(sum[:12])
	}
	return "ip:" + remoteIP(r)
}

// rateLimiter is a token bucket per client key. Idle buckets are dropped
// so the map stays bounded by the active clients.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	lastGC  time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newRateLimiter returns nil (no limit) for a rate <= 0.
func newRateLimiter(rate float64) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	return &rateLimiter{rate: rate, burst: math.Max(1, 2*rate), buckets: map[string]*bucket{}}
}

func (l *rateLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastGC) > time.Minute {
		for k, b := range l.buckets {
			// A bucket refilled to the brim carries no state worth keeping.
			if now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.lastGC = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// errorsIsClosed reports a listener closed by Shutdown.
func errorsIsClosed(err error) bool {
	return errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed)
}
