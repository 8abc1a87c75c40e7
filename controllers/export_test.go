package controllers

// EnsureApplied exposes ensureApplied to the integration tests (package
// controllers_test), which run against the suite's apiserver.
var EnsureApplied = ensureApplied
