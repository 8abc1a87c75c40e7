package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	t.Setenv("GOMEMLIMIT", "")

	t.Setenv(envMemoryLimit, "268435456") // 256Mi, as the downward API writes it
	debug.SetMemoryLimit(math.MaxInt64)
	if err := setMemoryLimit(0.9); err != nil {
		t.Fatal(err)
	}
	const want = 241591910 // 0.9 of 256Mi, rounded down
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("soft limit = %d, want %d", got, want)
	}

	// Without the variable, or with ratio 0, nothing changes.
	for _, tc := range []struct {
		env   string
		ratio float64
	}{{"", 0.9}, {"268435456", 0}} {
		t.Setenv(envMemoryLimit, tc.env)
		debug.SetMemoryLimit(math.MaxInt64)
		if err := setMemoryLimit(tc.ratio); err != nil {
			t.Fatal(err)
		}
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Errorf("env %q ratio %g: soft limit changed to %d", tc.env, tc.ratio, got)
		}
	}

	// An explicit GOMEMLIMIT wins.
	t.Setenv(envMemoryLimit, "268435456")
	t.Setenv("GOMEMLIMIT", "100MiB")
	debug.SetMemoryLimit(math.MaxInt64)
	if err := setMemoryLimit(0.9); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: soft limit changed to %d", got)
	}

	t.Setenv("GOMEMLIMIT", "")
	for _, bad := range []string{"256Mi", "-1"} {
		t.Setenv(envMemoryLimit, bad)
		if err := setMemoryLimit(0.9); err == nil {
			t.Errorf("%s=%q: no error", envMemoryLimit, bad)
		}
	}
	t.Setenv(envMemoryLimit, "268435456")
	if err := setMemoryLimit(1.5); err == nil {
		t.Error("ratio 1.5: no error")
	}
}
