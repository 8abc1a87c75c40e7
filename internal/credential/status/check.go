package status

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// State is the three-state answer of a status check.
type State string

const (
	// Valid: the list was obtained, verified and the credential's bit is clear
	// (or it is not on the revocation list).
	Valid State = "valid"
	// Revoked: the issuer revoked the credential.
	Revoked State = "revoked"
	// Suspended: the issuer suspended the credential.
	Suspended State = "suspended"
	// Unknown: the status could not be established (list unreachable, not
	// verifiable, wrong purpose, index out of range, undecodable...). It is
	// never to be read as "not revoked".
	Unknown State = "unknown"
)

// Result is the outcome of one credentialStatus entry.
type Result struct {
	State   State  `json:"state"`
	Type    string `json:"type,omitempty"`
	Purpose string `json:"purpose,omitempty"`
	List    string `json:"list,omitempty"`
	Index   string `json:"index,omitempty"`
	// Message explains the state: why it is unknown, or the revocation
	// reason the issuer gave.
	Message string `json:"message"`
}

// Fetcher fetches a remote document (a status list credential or a
// revocation list). resolve.Resolver implements it, with its offline and
// resource-override modes.
type Fetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

// VerifiedList is a status list credential whose proofs verified.
type VerifiedList struct {
	// Credential is the list credential's JSON object.
	Credential map[string]any
	// Keys are the public keys of the proofs that verified.
	Keys []crypto.PublicKey
	// Bound: one of those keys is bound to the list's issuer (found in the
	// issuer's own documents), not merely self-certifying.
	Bound bool
}

// ListVerifier verifies a fetched BitstringStatusListCredential (JSON or
// compact JWS): proofs, validity period, structure. The verify package
// supplies it, so a list is held to the same rules as any credential.
type ListVerifier func(ctx context.Context, raw []byte) (*VerifiedList, error)

// Checker checks credentialStatus entries. A Checker memoises the lists it
// fetched and verified, so one nested CLR with forty credentials on the same
// list costs one fetch and one proof verification; use one Checker per
// verification (or per short period), not for ever.
type Checker struct {
	Fetcher Fetcher
	// VerifyList must be set for BitstringStatusList entries; without it such
	// an entry's state is Unknown (an unverified list proves nothing).
	VerifyList ListVerifier

	mu    sync.Mutex
	lists map[string]listResult
}

type listResult struct {
	list *VerifiedList
	cred map[string]any
	bits *Bitstring
	err  error
}

// Check evaluates the credentialStatus of a credential (its JSON object).
// It returns nil when the credential has no credentialStatus. Entries of
// other types and purposes that do not decide validity are reported as Valid
// with a message saying they were not evaluated.
//
// credentialKeys are the keys that verified the credential itself. A status
// list is trusted only when it is signed by a key bound to the issuer or by
// one of these keys: otherwise whoever controls the list's URL (often a
// third-party host) could publish "not revoked" under a key of their own.
func (c *Checker) Check(ctx context.Context, credential map[string]any, credentialKeys ...crypto.PublicKey) []Result {
	raw, present := credential["credentialStatus"]
	if !present {
		return nil
	}
	var entries []any
	switch v := raw.(type) {
	case []any:
		entries = v
	default:
		entries = []any{v}
	}
	if len(entries) == 0 {
		return nil
	}
	results := make([]Result, 0, len(entries))
	for _, e := range entries {
		obj, ok := e.(map[string]any)
		if !ok {
			results = append(results, Result{State: Unknown, Message: "credentialStatus entry is not an object"})
			continue
		}
		results = append(results, c.checkEntry(ctx, credential, obj, credentialKeys))
	}
	return results
}

// Overall folds entry results: revoked beats suspended beats unknown beats
// valid.
func Overall(results []Result) State {
	rank := map[State]int{Valid: 0, Unknown: 1, Suspended: 2, Revoked: 3}
	out := Valid
	for _, r := range results {
		if rank[r.State] > rank[out] {
			out = r.State
		}
	}
	return out
}

func (c *Checker) checkEntry(ctx context.Context, credential, obj map[string]any, keys []crypto.PublicKey) Result {
	typ, _ := obj["type"].(string)
	switch typ {
	case TypeBitstringEntry:
		return c.checkBitstring(ctx, credential, obj, keys)
	case Type1EdTechRevocationList:
		return c.checkRevocationList(ctx, credential, obj)
	}
	return Result{State: Unknown, Type: fmt.Sprint(obj["type"]),
		Message: fmt.Sprintf("credentialStatus type %v is not supported", obj["type"])}
}

func (c *Checker) checkBitstring(ctx context.Context, credential, obj map[string]any, keys []crypto.PublicKey) Result {
	entry, err := ParseEntry(obj)
	res := Result{State: Unknown, Type: TypeBitstringEntry, Purpose: entry.StatusPurpose,
		List: entry.StatusListCredential, Index: entry.StatusListIndex}
	if err != nil {
		res.Message = err.Error()
		return res
	}
	if entry.StatusPurpose != PurposeRevocation && entry.StatusPurpose != PurposeSuspension {
		res.State = Valid
		res.Message = fmt.Sprintf("status purpose %q does not decide validity; not evaluated", entry.StatusPurpose)
		return res
	}
	index, _ := entry.Index()
	lr := c.list(ctx, entry.StatusListCredential)
	if lr.err != nil {
		res.Message = lr.err.Error()
		return res
	}
	if issuer, listIssuer := IssuerID(credential["issuer"]), IssuerID(lr.cred["issuer"]); issuer == "" || issuer != listIssuer {
		res.Message = fmt.Sprintf("status list issuer %q is not the credential's issuer %q", listIssuer, issuer)
		return res
	}
	if !lr.list.Bound && !anyKey(lr.list.Keys, keys) {
		res.Message = "status list is signed by a key neither bound to the issuer nor used for the credential itself"
		return res
	}
	subject, _ := lr.cred["credentialSubject"].(map[string]any)
	if !purposeIncludes(subject["statusPurpose"], entry.StatusPurpose) {
		res.Message = fmt.Sprintf("status list purpose %v does not match the entry's %q", subject["statusPurpose"], entry.StatusPurpose)
		return res
	}
	set, err := lr.bits.Get(index)
	if err != nil {
		res.Message = err.Error()
		return res
	}
	switch {
	case !set:
		res.State = Valid
		res.Message = "status bit is clear"
	case entry.StatusPurpose == PurposeRevocation:
		res.State = Revoked
		res.Message = "the issuer revoked this credential"
	default:
		res.State = Suspended
		res.Message = "the issuer suspended this credential"
	}
	return res
}

// list fetches, verifies and decodes a status list credential once per
// Checker.
func (c *Checker) list(ctx context.Context, url string) listResult {
	c.mu.Lock()
	if lr, ok := c.lists[url]; ok {
		c.mu.Unlock()
		return lr
	}
	c.mu.Unlock()
	lr := c.loadList(ctx, url)
	c.mu.Lock()
	if c.lists == nil {
		c.lists = map[string]listResult{}
	}
	c.lists[url] = lr
	c.mu.Unlock()
	return lr
}

func (c *Checker) loadList(ctx context.Context, url string) listResult {
	if c.Fetcher == nil {
		return listResult{err: fmt.Errorf("status list %s: no fetcher configured", url)}
	}
	if c.VerifyList == nil {
		return listResult{err: fmt.Errorf("status list %s: no list verifier configured", url)}
	}
	raw, err := c.Fetcher.Fetch(ctx, url)
	if err != nil {
		return listResult{err: fmt.Errorf("status list unreachable: %w", err)}
	}
	list, err := c.VerifyList(ctx, raw)
	if err != nil {
		return listResult{err: fmt.Errorf("status list %s not verified: %w", url, err)}
	}
	cred := list.Credential
	if !typeIncludes(cred["type"], TypeBitstringCredential) {
		return listResult{err: fmt.Errorf("status list %s: type %v does not include %s", url, cred["type"], TypeBitstringCredential)}
	}
	subject, ok := cred["credentialSubject"].(map[string]any)
	if !ok {
		return listResult{err: fmt.Errorf("status list %s: credentialSubject is not an object", url)}
	}
	if !typeIncludes(subject["type"], TypeBitstringList) {
		return listResult{err: fmt.Errorf("status list %s: credentialSubject type %v is not %s", url, subject["type"], TypeBitstringList)}
	}
	encoded, _ := subject["encodedList"].(string)
	bits, err := DecodeBitstring(encoded)
	if err != nil {
		return listResult{err: fmt.Errorf("status list %s: %w", url, err)}
	}
	return listResult{list: list, cred: cred, bits: bits}
}

func (c *Checker) checkRevocationList(ctx context.Context, credential, obj map[string]any) Result {
	url, _ := obj["id"].(string)
	res := Result{State: Unknown, Type: Type1EdTechRevocationList, Purpose: PurposeRevocation, List: url}
	if url == "" {
		res.Message = "1EdTechRevocationList entry has no id (the list URL)"
		return res
	}
	credID, _ := credential["id"].(string)
	if credID == "" {
		res.Message = "the credential has no id to look up in the revocation list"
		return res
	}
	if c.Fetcher == nil {
		res.Message = "no fetcher configured"
		return res
	}
	raw, err := c.Fetcher.Fetch(ctx, url)
	if err != nil {
		res.Message = "revocation list unreachable: " + err.Error()
		return res
	}
	var doc struct {
		RevokedCredentials *[]json.RawMessage `json:"revokedCredentials"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		res.Message = "revocation list is not a JSON object: " + err.Error()
		return res
	}
	if doc.RevokedCredentials == nil {
		res.Message = "revocation list has no revokedCredentials array"
		return res
	}
	for i, item := range *doc.RevokedCredentials {
		var rc RevokedCredential
		if err := json.Unmarshal(item, &rc); err != nil {
			res.Message = fmt.Sprintf("revocation list entry %d is malformed: %v", i, err)
			return res
		}
		if strings.TrimSpace(rc.ID) == credID && (rc.Revoked == nil || *rc.Revoked) {
			res.State = Revoked
			res.Message = "the issuer revoked this credential"
			if rc.RevocationReason != "" {
				res.Message += ": " + rc.RevocationReason
			}
			return res
		}
	}
	res.State = Valid
	res.Message = "credential not on the revocation list"
	return res
}

// IssuerID returns the id of an issuer value (a string or an object with id).
func IssuerID(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		s, _ := t["id"].(string)
		return s
	}
	return ""
}

func anyKey(have, want []crypto.PublicKey) bool {
	for _, h := range have {
		for _, w := range want {
			if eq, ok := h.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(w) {
				return true
			}
		}
	}
	return false
}

func purposeIncludes(v any, want string) bool {
	switch t := v.(type) {
	case string:
		return t == want
	case []any:
		for _, x := range t {
			if x == want {
				return true
			}
		}
	}
	return false
}
