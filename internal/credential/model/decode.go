package model

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Kind is the class of a credential, told by its type.
type Kind int

// The credential kinds the model has dedicated types for.
const (
	KindUnknown Kind = iota
	KindClr
	KindAchievement
	KindEndorsement
	// KindOther is a Verifiable Credential of another type (decoded as Credential).
	KindOther
)

func (k Kind) String() string {
	switch k {
	case KindClr:
		return "ClrCredential"
	case KindAchievement:
		return "AchievementCredential"
	case KindEndorsement:
		return "EndorsementCredential"
	case KindOther:
		return "VerifiableCredential"
	}
	return "unknown"
}

// KindOf tells the kind from a type list (a JSON-LD type may be one string or
// an array). ClrCredential wins over the others when several are listed.
func KindOf(types []string) Kind {
	switch {
	case slices.Contains(types, TypeClrCredential):
		return KindClr
	case slices.Contains(types, TypeAchievementCredential), slices.Contains(types, TypeOpenBadgeCredential):
		return KindAchievement
	case slices.Contains(types, TypeEndorsementCredential):
		return KindEndorsement
	case slices.Contains(types, TypeVerifiableCredential):
		return KindOther
	}
	return KindUnknown
}

// Sniff returns the kind of a JSON credential without decoding all of it.
func Sniff(b []byte) Kind {
	var head struct {
		Type json.RawMessage `json:"type"`
	}
	if json.Unmarshal(b, &head) != nil || len(head.Type) == 0 {
		return KindUnknown
	}
	var t OneOrMany[string]
	if t.UnmarshalJSON(head.Type) != nil {
		return KindUnknown
	}
	return KindOf(t.Items)
}

// Decode decodes a credential into *ClrCredential, *AchievementCredential,
// *EndorsementCredential or, for any other type, *Credential.
func Decode(b []byte) (any, error) {
	if t := trimLeft(b); len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("model: decode credential: %w", errNotObject)
	}
	var v json.Unmarshaler
	switch Sniff(b) {
	case KindClr:
		v = new(ClrCredential)
	case KindAchievement:
		v = new(AchievementCredential)
	case KindEndorsement:
		v = new(EndorsementCredential)
	default:
		v = new(Credential)
	}
	if err := v.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("model: decode credential: %w", err)
	}
	return v, nil
}
