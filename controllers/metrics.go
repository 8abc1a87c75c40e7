package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// Collector computes the operator's per-object metrics at scrape time from
// the manager's cache (as cert-manager does), so a deleted object's series
// disappear with it and nothing is kept between scrapes. Labels carry only
// names, hostnames and enum values: never a secret or free text.
type Collector struct {
	// Reader is the manager's cached client.
	Reader client.Reader
	// Timeout bounds one collection.
	Timeout time.Duration

	tenantReady    *prometheus.Desc
	tenantInfo     *prometheus.Desc
	keyExpiration  *prometheus.Desc
	keysPublished  *prometheus.Desc
	competencies   *prometheus.Desc
	collectFailure *prometheus.Desc
}

// NewCollector returns a collector reading from the cache.
func NewCollector(reader client.Reader) *Collector {
	return &Collector{
		Reader:  reader,
		Timeout: 10 * time.Second,
		tenantReady: prometheus.NewDesc("clr_tenant_ready",
			"1 when the CLRProvider (tenant) is Ready for its current generation, else 0.",
			[]string{"namespace", "name"}, nil),
		tenantInfo: prometheus.NewDesc("clr_tenant_info",
			"Facts about a CLRProvider (tenant); always 1.",
			[]string{"namespace", "name", "hostname", "storage"}, nil),
		keyExpiration: prometheus.NewDesc("clr_signing_key_expiration_timestamp_seconds",
			"Expiry (notAfter) of the Issuer's current signing key certificate, Unix seconds.",
			[]string{"namespace", "issuer"}, nil),
		keysPublished: prometheus.NewDesc("clr_signing_keys_published",
			"Public keys an Issuer publishes: the current one plus retired ones within retention.",
			[]string{"namespace", "issuer"}, nil),
		competencies: prometheus.NewDesc("clr_framework_competencies",
			"Competencies of a Framework.",
			[]string{"namespace", "name"}, nil),
		collectFailure: prometheus.NewDesc("clr_operator_metrics_collect_errors",
			"1 when the last collection could not list some objects from the cache.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.tenantReady, c.tenantInfo, c.keyExpiration, c.keysPublished, c.competencies, c.collectFailure} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	failed := 0.0

	var providers clrv1.CLRProviderList
	if err := c.Reader.List(ctx, &providers); err != nil {
		log.Log.Error(err, "metrics: listing CLRProviders")
		failed = 1
	}
	for i := range providers.Items {
		p := &providers.Items[i]
		ready := 0.0
		if clrv1.IsReady(p) {
			ready = 1
		}
		ch <- prometheus.MustNewConstMetric(c.tenantReady, prometheus.GaugeValue, ready, p.Namespace, p.Name)
		storage := "sqlite"
		if p.Spec.Storage.Postgres != nil {
			storage = "postgres"
		}
		ch <- prometheus.MustNewConstMetric(c.tenantInfo, prometheus.GaugeValue, 1, p.Namespace, p.Name, p.Spec.Hostname, storage)
	}

	var issuers clrv1.IssuerList
	if err := c.Reader.List(ctx, &issuers); err != nil {
		log.Log.Error(err, "metrics: listing Issuers")
		failed = 1
	}
	for i := range issuers.Items {
		is := &issuers.Items[i]
		published := 0
		if k := is.Status.CurrentKey; k != nil {
			published = 1
			if k.NotAfter != nil {
				ch <- prometheus.MustNewConstMetric(c.keyExpiration, prometheus.GaugeValue, float64(k.NotAfter.Unix()), is.Namespace, is.Name)
			}
		}
		published += len(is.Status.RetiredKeys)
		ch <- prometheus.MustNewConstMetric(c.keysPublished, prometheus.GaugeValue, float64(published), is.Namespace, is.Name)
	}

	var frameworks clrv1.FrameworkList
	if err := c.Reader.List(ctx, &frameworks); err != nil {
		log.Log.Error(err, "metrics: listing Frameworks")
		failed = 1
	}
	for i := range frameworks.Items {
		f := &frameworks.Items[i]
		ch <- prometheus.MustNewConstMetric(c.competencies, prometheus.GaugeValue, float64(len(f.Spec.Competencies)), f.Namespace, f.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.collectFailure, prometheus.GaugeValue, failed)
}
