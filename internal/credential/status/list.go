package status

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Status purposes of a BitstringStatusList that decide a credential's validity.
const (
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
)

// Types of credentialStatus entries.
const (
	TypeBitstringEntry        = "BitstringStatusListEntry"
	TypeBitstringList         = "BitstringStatusList"
	TypeBitstringCredential   = "BitstringStatusListCredential"
	Type1EdTechRevocationList = "1EdTechRevocationList"
)

// CredentialsV2Context is the only context a BitstringStatusListCredential
// needs: VC 2.0 defines the status list terms.
const CredentialsV2Context = "https://www.w3.org/ns/credentials/v2"

// ErrEntry: a credentialStatus entry is malformed.
var ErrEntry = errors.New("invalid credentialStatus entry")

// Entry is a BitstringStatusListEntry.
type Entry struct {
	ID                   string `json:"id,omitempty"`
	Type                 string `json:"type"`
	StatusPurpose        string `json:"statusPurpose"`
	StatusListIndex      string `json:"statusListIndex"`
	StatusListCredential string `json:"statusListCredential"`
}

// Index returns statusListIndex as an integer.
func (e Entry) Index() (int, error) {
	n, err := strconv.Atoi(e.StatusListIndex)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: statusListIndex %q is not a non-negative integer", ErrEntry, e.StatusListIndex)
	}
	return n, nil
}

// ParseEntry reads a BitstringStatusListEntry from its JSON object. The
// specification makes statusListIndex a string of digits; the official
// validator's examples use a JSON number, so both are accepted.
func ParseEntry(obj map[string]any) (Entry, error) {
	var e Entry
	e.ID, _ = obj["id"].(string)
	e.Type, _ = obj["type"].(string)
	if e.Type != TypeBitstringEntry {
		return e, fmt.Errorf("%w: type %v is not %s", ErrEntry, obj["type"], TypeBitstringEntry)
	}
	var ok bool
	if e.StatusPurpose, ok = obj["statusPurpose"].(string); !ok || e.StatusPurpose == "" {
		return e, fmt.Errorf("%w: statusPurpose missing or not a string", ErrEntry)
	}
	if e.StatusListCredential, ok = obj["statusListCredential"].(string); !ok || e.StatusListCredential == "" {
		return e, fmt.Errorf("%w: statusListCredential missing or not a string", ErrEntry)
	}
	switch v := obj["statusListIndex"].(type) {
	case string:
		e.StatusListIndex = v
	case float64:
		if v != float64(int64(v)) || v < 0 || v > MaxEntries {
			return e, fmt.Errorf("%w: statusListIndex %v is not a non-negative integer", ErrEntry, v)
		}
		e.StatusListIndex = strconv.FormatInt(int64(v), 10)
	case json.Number:
		e.StatusListIndex = v.String()
	default:
		return e, fmt.Errorf("%w: statusListIndex missing or not a string", ErrEntry)
	}
	if _, err := e.Index(); err != nil {
		return e, err
	}
	if size, present := obj["statusSize"]; present {
		if n, ok := size.(float64); !ok || n != 1 {
			return e, fmt.Errorf("%w: statusSize %v (only 1 is defined for revocation and suspension)", ErrEntry, size)
		}
	}
	return e, nil
}

// List is one status list kept by an issuer: clr-server allocates an index
// per issued credential, sets or clears its bit, and publishes the list as a
// signed BitstringStatusListCredential.
type List struct {
	// ID is the URL the list credential is served at.
	ID string
	// Issuer is the issuer id; it must be the issuer of the credentials that
	// point at the list (verifiers check it).
	Issuer string
	// Purpose is PurposeRevocation or PurposeSuspension.
	Purpose string
	// Bits are the entries.
	Bits *Bitstring
}

// NewList returns an empty list of MinEntries entries.
func NewList(id, issuer, purpose string) (*List, error) {
	if purpose != PurposeRevocation && purpose != PurposeSuspension {
		return nil, fmt.Errorf("status list purpose %q: want %s or %s", purpose, PurposeRevocation, PurposeSuspension)
	}
	bits, err := NewBitstring(MinEntries)
	if err != nil {
		return nil, err
	}
	return &List{ID: id, Issuer: issuer, Purpose: purpose, Bits: bits}, nil
}

// Entry is the credentialStatus value for the credential at index.
func (l *List) Entry(index int) Entry {
	return Entry{
		ID:                   l.ID + "#" + strconv.Itoa(index),
		Type:                 TypeBitstringEntry,
		StatusPurpose:        l.Purpose,
		StatusListIndex:      strconv.Itoa(index),
		StatusListCredential: l.ID,
	}
}

// Credential returns the unsigned BitstringStatusListCredential for the
// list's current bits, to be signed by the issuer. validUntil may be zero;
// a short validity tells verifiers how long they may cache the list.
func (l *List) Credential(validFrom, validUntil time.Time) (map[string]any, error) {
	encoded, err := l.Bits.Encode()
	if err != nil {
		return nil, err
	}
	cred := map[string]any{
		"@context":  []any{CredentialsV2Context},
		"id":        l.ID,
		"type":      []any{"VerifiableCredential", TypeBitstringCredential},
		"issuer":    l.Issuer,
		"validFrom": validFrom.UTC().Format(time.RFC3339),
		"credentialSubject": map[string]any{
			"id":            l.ID + "#list",
			"type":          TypeBitstringList,
			"statusPurpose": l.Purpose,
			"encodedList":   encoded,
		},
	}
	if !validUntil.IsZero() {
		cred["validUntil"] = validUntil.UTC().Format(time.RFC3339)
	}
	return cred, nil
}

// AllocateIndex picks a random index that is not yet set in allocated and
// sets it there. Random rather than sequential indexes keep the herd
// privacy the status list is designed for: an index reveals nothing about
// issuance order. rnd is crypto/rand.Reader when nil.
func AllocateIndex(allocated *Bitstring, rnd io.Reader) (int, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	n := allocated.Len()
	var buf [8]byte
	// Random probes first; when the list is nearly full, fall back to a scan
	// from a random start so allocation always terminates.
	for range 64 {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return 0, fmt.Errorf("allocate status index: %w", err)
		}
		i := int(binary.BigEndian.Uint64(buf[:]) % uint64(n))
		if set, _ := allocated.Get(i); !set {
			return i, allocated.Set(i, true)
		}
	}
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return 0, fmt.Errorf("allocate status index: %w", err)
	}
	start := int(binary.BigEndian.Uint64(buf[:]) % uint64(n))
	for k := range n {
		i := (start + k) % n
		if set, _ := allocated.Get(i); !set {
			return i, allocated.Set(i, true)
		}
	}
	return 0, errors.New("allocate status index: status list is full")
}

// RevocationList is the document served for the 1EdTech Revocation List
// status method: credentialStatus {"id": <this document's URL>, "type":
// "1EdTechRevocationList"}. A credential is revoked when its id is listed
// and "revoked" is true or omitted.
type RevocationList struct {
	ID                 string              `json:"id"`
	Issuer             string              `json:"issuer,omitempty"`
	RevokedCredentials []RevokedCredential `json:"revokedCredentials"`
}

// RevokedCredential is one entry of a RevocationList.
type RevokedCredential struct {
	ID               string `json:"id"`
	Revoked          *bool  `json:"revoked,omitempty"`
	RevocationReason string `json:"revocationReason,omitempty"`
}

func typeIncludes(v any, want string) bool {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t) == want
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && strings.TrimSpace(s) == want {
				return true
			}
		}
	}
	return false
}
