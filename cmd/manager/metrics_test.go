package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsOptions(t *testing.T) {
	plain, err := runOptions{metricsAddr: ":8080"}.metricsOptions()
	if err != nil || plain.SecureServing || plain.FilterProvider != nil || plain.BindAddress != ":8080" {
		t.Fatalf("default: %+v %v, want plain HTTP without a filter on :8080", plain, err)
	}

	secure, err := runOptions{metricsAddr: ":8443", metricsSecure: true}.metricsOptions()
	if err != nil || !secure.SecureServing || secure.FilterProvider == nil || secure.CertDir != "" {
		t.Fatalf("--metrics-secure: %+v %v, want TLS, the auth filter and a self-signed certificate", secure, err)
	}

	dir := t.TempDir()
	if _, err := (runOptions{metricsSecure: true, metricsCertDir: dir}).metricsOptions(); err == nil || !strings.Contains(err.Error(), "tls.crt") {
		t.Errorf("a cert dir without tls.crt: %v, want an error naming the file (not a silent self-signed fallback)", err)
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withCert, err := runOptions{metricsSecure: true, metricsCertDir: dir}.metricsOptions()
	if err != nil || withCert.CertDir != dir {
		t.Errorf("a cert dir with both files: %+v %v, want it used", withCert, err)
	}
	if _, err := (runOptions{metricsCertDir: dir}).metricsOptions(); err == nil {
		t.Error("--metrics-cert-dir without --metrics-secure was accepted")
	}
}
