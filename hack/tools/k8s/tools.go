//go:build tools

// Package tools exists only so that `go mod tidy` keeps the Kubernetes
// commands this wrapper module builds (see the tool block in go.mod).
package tools
