package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Helpers for assembling credentials in Go (clr-server builds CLRs with them).
// They fill the properties the spec requires with the values it prescribes;
// everything else is set on the returned structs directly.

// FormatTime renders t the way credentials carry date-times: RFC 3339 in UTC,
// whole seconds.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// ParseTime parses a credential date-time (RFC 3339).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("model: date-time %q: %w", s, err)
	}
	return t, nil
}

// Has reports whether a type list contains the IRI t.
func Has(types OneOrMany[string], t string) bool { return slices.Contains(types.Items, t) }

// Contexts returns an array-form @context of the given IRIs.
func Contexts(iris ...string) OneOrMany[ContextEntry] {
	o := OneOrMany[ContextEntry]{Items: make([]ContextEntry, len(iris)), Array: true}
	for i, iri := range iris {
		o.Items[i] = ContextEntry{IRI: iri}
	}
	return o
}

// ContextIRIs returns the IRIs of the @context entries (inline contexts are skipped).
func ContextIRIs(c OneOrMany[ContextEntry]) []string {
	out := make([]string, 0, len(c.Items))
	for _, e := range c.Items {
		if len(e.Inline) == 0 {
			out = append(out, e.IRI)
		}
	}
	return out
}

// NewProfile returns an issuer/creator Profile.
func NewProfile(id, name string) *Profile {
	return &Profile{ID: id, Type: Many(TypeProfile), Name: name}
}

// NewAchievement returns an Achievement with its required properties; the
// criteria narrative may be empty when a criteria id (URL) is set later.
func NewAchievement(id, achievementType, name, description, criteriaNarrative string) *Achievement {
	a := &Achievement{
		ID:          id,
		Type:        Many(TypeAchievement),
		Name:        name,
		Description: description,
		Criteria:    &Criteria{Narrative: criteriaNarrative},
	}
	if achievementType != "" {
		a.AchievementType = achievementType
	}
	return a
}

// NewAlignment returns an Alignment to a framework node.
func NewAlignment(targetName, targetURL, targetType string) Alignment {
	return Alignment{Type: Many(TypeAlignment), TargetName: targetName, TargetURL: targetURL, TargetType: targetType}
}

// NewResultDescription returns a ResultDescription with its required properties.
func NewResultDescription(id, name, resultType string) ResultDescription {
	return ResultDescription{ID: id, Type: Many(TypeResultDescription), Name: name, ResultType: resultType}
}

// NewRubricCriterionLevel returns a RubricCriterionLevel with its required properties.
func NewRubricCriterionLevel(id, name string) RubricCriterionLevel {
	return RubricCriterionLevel{ID: id, Type: Many(TypeRubricCriterionLevel), Name: name}
}

// NewResult returns a Result that refers to a ResultDescription by id.
func NewResult(resultDescriptionID, value string) Result {
	return Result{Type: Many(TypeResult), ResultDescription: resultDescriptionID, Value: value}
}

// NewIdentityObject returns an IdentityObject; hashed says whether identityHash
// is a salted hash (then salt should be set) or the plain identifier.
func NewIdentityObject(identityType, identityHash string, hashed bool) IdentityObject {
	return IdentityObject{Type: TypeIdentityObject, IdentityType: identityType, IdentityHash: identityHash, Hashed: &hashed}
}

// NewAssociation returns an Association between two achievement ids.
func NewAssociation(t AssociationType, sourceID, targetID string) Association {
	return Association{Type: TypeAssociation, AssociationType: t, SourceID: sourceID, TargetID: targetID}
}

// NewAchievementCredential returns an OpenBadgeCredential (VC 2.0) asserting
// achievement about subjectID.
func NewAchievementCredential(id string, issuer *Profile, subjectID string, achievement *Achievement, validFrom time.Time) *AchievementCredential {
	return &AchievementCredential{
		Context:   Contexts(ContextVC2, ContextOB3),
		ID:        id,
		Type:      Many(TypeVerifiableCredential, TypeOpenBadgeCredential),
		Name:      achievement.Name,
		Issuer:    Embedded(issuer),
		ValidFrom: FormatTime(validFrom),
		CredentialSubject: &AchievementSubject{
			ID:          subjectID,
			Type:        Many(TypeAchievementSubject),
			Achievement: achievement,
		},
		CredentialSchema: Many(CredentialSchema{ID: SchemaAchievementCredential, Type: TypeJSONSchemaValidator}),
	}
}

// NewClrCredential returns an empty ClrCredential (VC 2.0) for learnerID; add
// credentials, achievements and associations with its methods.
func NewClrCredential(id, name string, issuer *Profile, learnerID string, validFrom time.Time) *ClrCredential {
	return &ClrCredential{
		Context:   Contexts(ContextVC2, ContextCLR2, ContextOB3),
		ID:        id,
		Type:      Many(TypeVerifiableCredential, TypeClrCredential),
		Name:      name,
		Issuer:    Embedded(issuer),
		ValidFrom: FormatTime(validFrom),
		CredentialSubject: &ClrSubject{
			ID:                   learnerID,
			Type:                 Many(TypeClrSubject),
			VerifiableCredential: Many[AchievementCredential](),
		},
		CredentialSchema: Many(CredentialSchema{ID: SchemaClrCredential, Type: TypeJSONSchemaValidator}),
	}
}

func (c *ClrCredential) subject() *ClrSubject {
	if c.CredentialSubject == nil {
		c.CredentialSubject = &ClrSubject{Type: Many(TypeClrSubject)}
	}
	return c.CredentialSubject
}

// AddCredential appends (signed or unsigned) achievement credentials.
func (c *ClrCredential) AddCredential(ac ...*AchievementCredential) {
	s := c.subject()
	for _, a := range ac {
		s.VerifiableCredential.Items = append(s.VerifiableCredential.Items, *a)
	}
	s.VerifiableCredential.Array = true
}

// AddAchievement appends achievements to the framework layer of the CLR.
func (c *ClrCredential) AddAchievement(a ...*Achievement) {
	s := c.subject()
	for _, x := range a {
		s.Achievement.Items = append(s.Achievement.Items, *x)
	}
	s.Achievement.Array = true
}

// AddAssociation appends an association between two achievement ids.
func (c *ClrCredential) AddAssociation(t AssociationType, sourceID, targetID string) {
	s := c.subject()
	s.Association.Items = append(s.Association.Items, NewAssociation(t, sourceID, targetID))
	s.Association.Array = true
}

// SetExtra sets an extension property on an Extra map, encoding v as JSON.
func SetExtra(extra *map[string]json.RawMessage, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("model: extension %q: %w", name, err)
	}
	if *extra == nil {
		*extra = make(map[string]json.RawMessage)
	}
	(*extra)[name] = b
	return nil
}

// NewEndorsementCredential returns an EndorsementCredential (VC 2.0) by
// endorser about the entity subjectID (an issuer, achievement or credential).
func NewEndorsementCredential(id, name string, endorser *Profile, subjectID, comment string, validFrom time.Time) *EndorsementCredential {
	return &EndorsementCredential{
		Context:   Contexts(ContextVC2, ContextOB3),
		ID:        id,
		Type:      Many(TypeVerifiableCredential, TypeEndorsementCredential),
		Name:      name,
		Issuer:    Embedded(endorser),
		ValidFrom: FormatTime(validFrom),
		CredentialSubject: &EndorsementSubject{
			ID:                 subjectID,
			Type:               Many(TypeEndorsementSubject),
			EndorsementComment: comment,
		},
	}
}
