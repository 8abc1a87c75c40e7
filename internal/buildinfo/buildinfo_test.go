package buildinfo

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestStampedValuesWin(t *testing.T) {
	defer func(v, r string) { version, revision = v, r }(version, revision)
	version, revision = "v1.4.0", "0123abc"
	i := Get()
	if i.Version != "v1.4.0" || i.Revision != "0123abc" || i.GoVersion != runtime.Version() {
		t.Fatalf("Get() = %+v", i)
	}
	if got := i.String(); got != "v1.4.0 (revision 0123abc, "+runtime.Version()+")" {
		t.Errorf("String() = %q", got)
	}
}

func TestUnstampedIsDev(t *testing.T) {
	defer func(v, r string) { version, revision = v, r }(version, revision)
	version, revision = "", ""
	// A test binary's main module has no version ("(devel)" or empty).
	if i := Get(); i.Version != "dev" {
		t.Fatalf("unstamped version %q, want dev", i.Version)
	}
}

func TestCollector(t *testing.T) {
	defer func(v, r string) { version, revision = v, r }(version, revision)
	version, revision = "v1.4.0", "0123abc"
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector("clr_test_build_info", "help"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "clr_test_build_info" || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gathered %v", mfs)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if m.GetGauge().GetValue() != 1 || labels["version"] != "v1.4.0" || labels["revision"] != "0123abc" || labels["goversion"] != runtime.Version() || len(labels) != 3 {
		t.Fatalf("metric %v", m)
	}
}
