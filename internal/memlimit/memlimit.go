// Package memlimit fits the Go runtime to the memory limit of the container
// it runs in. Both the operator and clr-server use it; it imports only the
// standard library, since clr-server must link no Kubernetes code.
package memlimit

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

// EnvContainerLimit names the container's memory limit in bytes; the Helm
// chart, the kustomize manifests and the clr-server Deployments set it from
// the downward API (resources.limits.memory).
const EnvContainerLimit = "CLR_MEMORY_LIMIT"

// DefaultRatio is the share of the container limit used as the Go soft
// memory limit: the rest covers memory the Go runtime does not count
// (thread stacks of cgo calls, the binary's text) and a little slack.
const DefaultRatio = 0.9

// Container returns the container's memory limit in bytes from
// $CLR_MEMORY_LIMIT, read through getenv (os.Getenv if nil), or 0 when the
// variable is unset.
func Container(getenv func(string) string) (int64, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	raw := getenv(EnvContainerLimit)
	if raw == "" {
		return 0, nil
	}
	limit, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || limit <= 0 {
		return 0, fmt.Errorf("%s=%q: want the memory limit in bytes", EnvContainerLimit, raw)
	}
	return limit, nil
}

// Result is what Set did.
type Result struct {
	// Container is the container limit read from the environment.
	Container int64
	// Soft is the Go soft memory limit set, 0 when Set left it alone.
	Soft int64
}

// Set makes the garbage collector work harder as the heap nears the
// container's limit instead of letting the process be OOM-killed: with the
// default GOGC the heap may grow to twice the live data between
// collections. It sets the soft limit to ratio times $CLR_MEMORY_LIMIT,
// and does nothing when the variable is unset, ratio is 0 or negative
// (disabled), or GOMEMLIMIT is set (an explicit limit wins).
func Set(ratio float64) (Result, error) {
	if ratio <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return Result{}, nil
	}
	limit, err := Container(nil)
	if err != nil || limit == 0 {
		return Result{}, err
	}
	// Written so that NaN fails too.
	if !(ratio <= 1) {
		return Result{}, fmt.Errorf("memory limit ratio %g: want a share of the limit, at most 1", ratio)
	}
	soft := int64(float64(limit) * ratio) // rounded down
	debug.SetMemoryLimit(soft)
	return Result{Container: limit, Soft: soft}, nil
}

// SetGCPercent sets the garbage collector's target (GOGC) to percent
// unless GOGC is set in the environment (an explicit value wins) or
// percent is 0 (leave Go's default, 100). It reports the value in effect.
//
// Why a program would lower it: a heap made mostly of long-lived data (an
// operator's informer caches) grows to (1 + GOGC/100) times that data
// between collections, and the peak is reached when the caches fill at
// once (a restart). Prometheus runs with 75 for the same reason.
func SetGCPercent(percent int) int {
	if env := os.Getenv("GOGC"); env != "" || percent == 0 {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(percent)
	return percent
}
