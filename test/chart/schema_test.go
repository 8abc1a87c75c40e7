package chart

import (
	"strings"
	"testing"
)

// TestValuesSchemaRejectsBadValues renders the chart with values that
// values.schema.json must reject, and checks that helm fails naming the
// offending field.
func TestValuesSchemaRejectsBadValues(t *testing.T) {
	cases := []struct {
		name, values, field string
	}{
		{"unknown top-level key", "replicas: 3\n", "replicas"},
		{"unknown nested key", "crds: {install: true}\n", "install"},
		{"log level", "logLevel: verbose\n", "logLevel"},
		{"watched namespace not a DNS label", "watchNamespaces: [Tenant_A]\n", "watchNamespaces"},
		{"duplicate watched namespace", "watchNamespaces: [a, a]\n", "watchNamespaces"},
		{"framework namespaces without watched namespaces", "frameworkNamespaces: [consortium]\n", "watchNamespaces"},
		{"framework namespace not a DNS label", "watchNamespaces: [a]\nframeworkNamespaces: [Consortium]\n", "frameworkNamespaces"},
		{"unknown alert", "prometheusRule: {disabledAlerts: [ClrSomethingElse]}\n", "disabledAlerts"},
		{"runbook URL not http", "prometheusRule: {runbookBaseURL: 'docs/runbooks/'}\n", "runbookBaseURL"},
		{"port out of range", "metrics: {port: 70000}\n", "port"},
		{"port as string", "healthProbe: {port: '8081'}\n", "port"},
		{"concurrency zero", "maxConcurrentReconciles: 0\n", "maxConcurrentReconciles"},
		{"bad digest", "image: {digest: 'sha256:xyz'}\n", "digest"},
		{"bad pull policy", "image: {pullPolicy: Sometimes}\n", "pullPolicy"},
		{"crds.enabled not boolean", "crds: {enabled: 'yes'}\n", "enabled"},
		{"scrape interval", "serviceMonitor: {interval: 30}\n", "interval"},
		{"egress without API server CIDRs", "networkPolicy: {enabled: true, egress: {enabled: true}}\n", "apiServerCIDRs"},
		{"bad CIDR", "networkPolicy: {egress: {apiServerCIDRs: [10.0.0.1]}}\n", "apiServerCIDRs"},
		{"dashboard label not a string", "dashboard: {labels: {grafana_dashboard: 1}}\n", "grafana_dashboard"},
		{"metrics.secure not boolean", "metrics: {secure: 'yes'}\n", "/metrics/secure"},
		{"metrics TLS Secret not a name", "metrics: {secure: true, tlsSecretName: My_Cert}\n", "tlsSecretName"},
		{"reader subjects not a list", "metrics: {readerSubjects: prometheus-k8s}\n", "readerSubjects"},
		{"reader subject without name", "metrics: {readerSubjects: [{kind: ServiceAccount, namespace: monitoring}]}\n", "/metrics/readerSubjects/0': missing property 'name'"},
		{"reader subject of unknown kind", "metrics: {readerSubjects: [{kind: Robot, name: r2}]}\n", "/metrics/readerSubjects/0/kind"},
		{"reader ServiceAccount without namespace", "metrics: {readerSubjects: [{kind: ServiceAccount, name: prometheus-k8s}]}\n", "missing property 'namespace'"},
		{"reader User with a namespace", "metrics: {readerSubjects: [{kind: User, name: alice, namespace: monitoring}]}\n", "/metrics/readerSubjects/0/namespace"},
		{"metrics TLS Secret without secure", "metrics: {tlsSecretName: clr-operator-metrics-tls}\n", "/metrics/secure"},
		{"reader subjects without secure", "metrics: {readerSubjects: [{kind: Group, name: metrics-readers}]}\n", "/metrics/secure"},
		{"unknown reader subject key", "metrics: {readerSubjects: [{kind: User, name: alice, apiGroup: x}]}\n", "apiGroup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", releaseName, chartRelPath, "--namespace", releaseNS}, valuesArgs(t, tc.values)...)
			out, err := runHelm(t, args...)
			if err == nil {
				t.Fatalf("values %q were accepted", tc.values)
			}
			if !strings.Contains(out, "values don't meet the specifications of the schema") && !strings.Contains(out, "at '/") {
				t.Fatalf("helm failed, but not on the schema:\n%s", out)
			}
			if !strings.Contains(out, tc.field) {
				t.Fatalf("schema error does not name %q:\n%s", tc.field, out)
			}
		})
	}
}
