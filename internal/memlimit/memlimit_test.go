package memlimit

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

// keepSoftLimit restores the process's soft memory limit after the test
// and starts it from "no limit", so that a change is visible.
func keepSoftLimit(t *testing.T) {
	t.Helper()
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "")
}

func TestSetRatio(t *testing.T) {
	keepSoftLimit(t)
	for _, c := range []struct {
		env   string
		ratio float64
		want  int64
	}{
		{"268435456", 0.9, 241591910}, // 0.9 of 256Mi (as the downward API writes it), rounded down
		{"134217728", 0.5, 67108864},
		{"134217728", 1, 134217728},
	} {
		t.Setenv(EnvContainerLimit, c.env)
		debug.SetMemoryLimit(math.MaxInt64)
		res, err := Set(c.ratio)
		if err != nil {
			t.Fatalf("%s=%s ratio %g: %v", EnvContainerLimit, c.env, c.ratio, err)
		}
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("%s=%s ratio %g: soft limit %d, want %d", EnvContainerLimit, c.env, c.ratio, got, c.want)
		}
		if res.Soft != c.want || res.Container == 0 {
			t.Errorf("%s=%s ratio %g: result %+v, want soft %d", EnvContainerLimit, c.env, c.ratio, res, c.want)
		}
	}
}

func TestSetLeavesLimitAlone(t *testing.T) {
	keepSoftLimit(t)
	for _, c := range []struct {
		name, env, gomemlimit string
		ratio                 float64
	}{
		{"no container limit", "", "", 0.9},
		{"ratio 0 disables", "268435456", "", 0},
		{"negative ratio disables", "268435456", "", -1},
		{"GOMEMLIMIT wins", "268435456", "100MiB", 0.9},
		// An explicit GOMEMLIMIT wins before the variable is even read.
		{"GOMEMLIMIT wins over a bad value", "256Mi", "100MiB", 0.9},
	} {
		t.Setenv(EnvContainerLimit, c.env)
		t.Setenv("GOMEMLIMIT", c.gomemlimit)
		debug.SetMemoryLimit(math.MaxInt64)
		res, err := Set(c.ratio)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Errorf("%s: soft limit changed to %d", c.name, got)
		}
		if res != (Result{}) {
			t.Errorf("%s: result %+v, want none", c.name, res)
		}
	}
}

func TestSetErrors(t *testing.T) {
	keepSoftLimit(t)
	for _, bad := range []string{"256Mi", "-1", "0", "1.5e9", "lots"} {
		t.Setenv(EnvContainerLimit, bad)
		_, err := Set(0.9)
		if err == nil || !strings.Contains(err.Error(), EnvContainerLimit) {
			t.Errorf("%s=%q: error %v, want one naming the variable", EnvContainerLimit, bad, err)
		}
	}
	t.Setenv(EnvContainerLimit, "268435456")
	for _, ratio := range []float64{1.5, math.NaN(), math.Inf(1)} {
		if _, err := Set(ratio); err == nil {
			t.Errorf("ratio %g: no error", ratio)
		}
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after errors the soft limit changed to %d", got)
	}
}

func TestContainer(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got, err := Container(getenv); got != 0 || err != nil {
		t.Errorf("unset: %d, %v; want 0, nil", got, err)
	}
	env[EnvContainerLimit] = "134217728"
	if got, err := Container(getenv); got != 134217728 || err != nil {
		t.Errorf("128Mi: %d, %v", got, err)
	}
	env[EnvContainerLimit] = "128Mi"
	if _, err := Container(getenv); err == nil {
		t.Error("a quantity string is accepted; the downward API writes bytes")
	}
}

func TestSetGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	t.Setenv("GOGC", "")
	if got := SetGCPercent(75); got != 75 {
		t.Errorf("SetGCPercent(75) = %d, want 75", got)
	}
	if now := debug.SetGCPercent(100); now != 75 {
		t.Errorf("GOGC in effect %d, want 75", now)
	}
	// 0 leaves the value in effect (here 100) alone.
	if got := SetGCPercent(0); got != 100 {
		t.Errorf("SetGCPercent(0) = %d, want the value in effect, 100", got)
	}
	// An explicit GOGC wins: the runtime read it at start; here the value
	// in effect stands for it.
	debug.SetGCPercent(150)
	t.Setenv("GOGC", "150")
	if got := SetGCPercent(75); got != 150 {
		t.Errorf("with GOGC=150: SetGCPercent(75) = %d, want 150", got)
	}
	if now := debug.SetGCPercent(150); now != 150 {
		t.Errorf("with GOGC=150 the target changed to %d", now)
	}
}
