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
	if !json.Valid(b) {
		return KindUnknown
	}
	return sniffValid(b)
}

func sniffValid(b []byte) Kind {
	var t OneOrMany[string]
	found := false
	_ = eachMember(b, func(k string, raw []byte) {
		if k == "type" {
			found = t.decodeRaw(raw) == nil
		}
	})
	if !found {
		return KindUnknown
	}
	return KindOf(t.Items)
}

// Decode decodes a credential into *ClrCredential, *AchievementCredential,
// *EndorsementCredential or, for any other type, *Credential.
func Decode(b []byte) (any, error) {
	if t := trimLeft(b); len(t) == 0 || t[0] != '{' || !json.Valid(b) {
		return nil, fmt.Errorf("model: decode credential: %w", errNotObject)
	}
	var v rawDecoder
	switch sniffValid(b) {
	case KindClr:
		v = new(ClrCredential)
	case KindAchievement:
		v = new(AchievementCredential)
	case KindEndorsement:
		v = new(EndorsementCredential)
	default:
		v = new(Credential)
	}
	if err := v.decodeRaw(b); err != nil {
		return nil, fmt.Errorf("model: decode credential: %w", err)
	}
	return v, nil
}

// Encoder is implemented by every model type.
type Encoder interface {
	appendJSON(dst []byte) ([]byte, error)
}

// Encode returns the JSON encoding of a model value. It is json.Marshal
// without encoding/json's second pass over the output (which re-scans and
// HTML-escapes it); the result means the same.
func Encode(v Encoder) ([]byte, error) {
	return v.appendJSON(make([]byte, 0, 2048))
}
