package controllers

import (
	"net/url"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

func ptrTo[T any](v T) *T { return &v }

// hasOwner reports whether owner is the controller owner of obj.
func hasOwner(obj, owner client.Object) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == owner.GetUID() && ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

// labelsContain reports whether have holds every label of want.
func labelsContain(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// publicURL is the external base URL of a provider: https, the hostname and
// the path prefix, without a trailing slash.
func publicURL(hostname, pathPrefix string) string {
	return "https://" + hostname + strings.TrimSuffix(pathPrefix, "/")
}

// didWeb is the did:web of an issuer served at hostname/pathPrefix, at the
// path /issuers/<name>: did:web replaces "/" with ":" and percent-encodes a
// port's ":" (did:web method specification §3.2).
func didWeb(hostname, pathPrefix, issuerName string) string {
	parts := []string{"did:web", strings.ReplaceAll(url.PathEscape(hostname), ":", "%3A")}
	for _, seg := range strings.Split(strings.Trim(pathPrefix, "/"), "/") {
		if seg != "" {
			parts = append(parts, url.PathEscape(seg))
		}
	}
	parts = append(parts, "issuers", issuerName)
	return strings.Join(parts, ":")
}
