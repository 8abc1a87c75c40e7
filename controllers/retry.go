package controllers

import (
	"math/rand/v2"
	"time"
)

// Backoff after failed reconciles: base·2^(n-1), capped, with ±20% jitter
// so that many providers failing together (an apiserver hiccup) do not
// retry in lockstep.
const (
	retryBase = 5 * time.Second
	retryMax  = 5 * time.Minute
)

// retryDelay is the delay before retry number failures (1-based). jitter is
// a value in [0,1) (rand.Float64 in production, fixed in tests).
func retryDelay(failures int32, jitter float64) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := retryBase
	for i := int32(1); i < failures && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*jitter))
}

func jitter() float64 { return rand.Float64() }
