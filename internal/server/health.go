package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/learnerrecords/clr-operator/internal/signing"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// NewLogger returns the JSON logger clr-server uses (stderr if w is nil).
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// healthz says the process is alive (liveness): no dependencies checked,
// so a database outage does not get every replica restarted.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// readyz says whether this replica can serve (readiness): the database
// answers and every issuer has a signing key.
func readyz(st store.Store, keys *signing.Set) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		checks := map[string]string{"database": "ok", "keys": "ok"}
		ready := true
		if err := st.Ping(ctx); err != nil {
			checks["database"] = "unreachable"
			ready = false
		}
		if !keys.Ready() {
			checks["keys"] = "not loaded"
			ready = false
		}
		status, code := "ready", http.StatusOK
		if !ready {
			status, code = "not ready", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": checks})
	})
}

// stateCollector computes gauges from state at scrape time (cert-manager's
// pattern): nothing to keep in sync, and a scrape always sees the truth.
type stateCollector struct {
	st   store.Store
	keys *signing.Set
	now  func() time.Time
	log  *slog.Logger

	clients       *prometheus.Desc
	listAge       *prometheus.Desc
	listPending   *prometheus.Desc
	keyNotAfter   *prometheus.Desc
	keysPublished *prometheus.Desc
	up            *prometheus.Desc
}

func newStateCollector(st store.Store, keys *signing.Set, now func() time.Time, log *slog.Logger) *stateCollector {
	return &stateCollector{
		st: st, keys: keys, now: now, log: log,
		clients: prometheus.NewDesc("clr_oauth_clients", "Registered OAuth 2.0 clients.", nil, nil),
		listAge: prometheus.NewDesc("clr_status_list_age_seconds",
			"Age of the oldest signed status list credential of an issuer and purpose (0 if none is signed yet).",
			[]string{"issuer", "purpose"}, nil),
		listPending: prometheus.NewDesc("clr_status_list_unsigned_changes",
			"Status lists of an issuer and purpose with changes not yet re-signed.",
			[]string{"issuer", "purpose"}, nil),
		keyNotAfter: prometheus.NewDesc("clr_signing_key_not_after_timestamp_seconds",
			"Expiry (certificate notAfter) of the current signing key, Unix seconds; 0 if unknown.",
			[]string{"issuer", "kid", "algorithm"}, nil),
		keysPublished: prometheus.NewDesc("clr_signing_keys_published",
			"Public keys published for an issuer (current and retired).", []string{"issuer"}, nil),
		up: prometheus.NewDesc("clr_store_up", "Whether the database answered the last scrape.", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.clients, c.listAge, c.listPending, c.keyNotAfter, c.keysPublished, c.up} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, name := range c.keys.Names() {
		k, _ := c.keys.Issuer(name)
		if cur := k.Current(); cur != nil {
			notAfter := 0.0
			if !cur.NotAfter.IsZero() {
				notAfter = float64(cur.NotAfter.Unix())
			} else if pub := k.Published(); len(pub) > 0 && !pub[0].NotAfter.IsZero() {
				notAfter = float64(pub[0].NotAfter.Unix())
			}
			ch <- prometheus.MustNewConstMetric(c.keyNotAfter, prometheus.GaugeValue, notAfter, name, cur.KID, cur.Algorithm)
		}
		ch <- prometheus.MustNewConstMetric(c.keysPublished, prometheus.GaugeValue, float64(len(k.Published())), name)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	if n, err := c.st.CountClients(ctx); err != nil {
		up = 0
		c.log.Warn("metrics: count OAuth clients", "error", err.Error())
	} else {
		ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(n))
	}
	if lists, err := c.st.ListStatusLists(ctx, ""); err != nil {
		up = 0
		c.log.Warn("metrics: list status lists", "error", err.Error())
	} else {
		type key struct{ issuer, purpose string }
		age := map[key]float64{}
		pending := map[key]float64{}
		now := c.now()
		for _, l := range lists {
			k := key{l.Issuer, l.Purpose}
			if _, ok := age[k]; !ok {
				age[k], pending[k] = 0, 0
			}
			if !l.SignedAt.IsZero() {
				age[k] = max(age[k], now.Sub(l.SignedAt).Seconds())
			}
			if l.SignedAt.IsZero() || l.ChangedAt.After(l.SignedAt) {
				pending[k]++
			}
		}
		for k, v := range age {
			ch <- prometheus.MustNewConstMetric(c.listAge, prometheus.GaugeValue, v, k.issuer, k.purpose)
			ch <- prometheus.MustNewConstMetric(c.listPending, prometheus.GaugeValue, pending[k], k.issuer, k.purpose)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
