package oauth

import (
	"slices"
	"strings"
)

// CLR Standard API v2.0 scopes (1EdTech CLR 2.0 §6, "Scopes"). Learners grant
// them to applications through the authorization code grant.
const (
	ScopeCredentialReadonly = "https://purl.imsglobal.org/spec/clr/v2p0/scope/credential.readonly"
	ScopeCredentialUpsert   = "https://purl.imsglobal.org/spec/clr/v2p0/scope/credential.upsert"
	ScopeProfileReadonly    = "https://purl.imsglobal.org/spec/clr/v2p0/scope/profile.readonly"
	ScopeProfileUpdate      = "https://purl.imsglobal.org/spec/clr/v2p0/scope/profile.update"
)

// Issuing scopes are defined by this project for the institution's own
// systems (SIS, registrar), granted only through the client-credentials grant
// to clients listed in the configuration. They are not 1EdTech scopes: the
// CLR standard leaves issuing out of its API.
const (
	// ScopeIssue: post learning records and have credentials issued.
	ScopeIssue = "https://learnerrecords.io/scope/issue"
	// ScopeRevoke: revoke, suspend and reinstate issued credentials.
	ScopeRevoke = "https://learnerrecords.io/scope/revoke"
	// ScopeRecordsRead: read learning records and issued credentials of any
	// learner of the institution.
	ScopeRecordsRead = "https://learnerrecords.io/scope/records.read"
)

// CLRScopes are the scopes a learner can grant, in display order.
var CLRScopes = []string{ScopeCredentialReadonly, ScopeCredentialUpsert, ScopeProfileReadonly, ScopeProfileUpdate}

// IssuingScopes are the scopes of institutional clients.
var IssuingScopes = []string{ScopeIssue, ScopeRevoke, ScopeRecordsRead}

// ScopeDescriptions are shown on the consent page and in the discovery
// document.
var ScopeDescriptions = map[string]string{
	ScopeCredentialReadonly: "Permission to read your credentials",
	ScopeCredentialUpsert:   "Permission to create or update your credentials",
	ScopeProfileReadonly:    "Permission to read your profile",
	ScopeProfileUpdate:      "Permission to update your profile",
	ScopeIssue:              "Issue credentials from learning records (institutional systems)",
	ScopeRevoke:             "Revoke, suspend and reinstate issued credentials (institutional systems)",
	ScopeRecordsRead:        "Read learning records and issued credentials (institutional systems)",
}

// parseScope splits an RFC 6749 scope parameter, dropping duplicates.
func parseScope(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// HasScope reports whether scopes grant scope.
func HasScope(scopes []string, scope string) bool { return slices.Contains(scopes, scope) }
