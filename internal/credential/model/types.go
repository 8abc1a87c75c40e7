// The model types of the OB 3.0 / CLR 2.0 data model, one per class, each with its property list.

package model

import "encoding/json"

// Credential is a Verifiable Credential of a type the model has no dedicated
// struct for (for example a BitstringStatusListCredential); its
// credentialSubject is kept verbatim.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Credential struct {
	Context           OneOrMany[ContextEntry]          // @context
	ID                string                           // id
	Type              OneOrMany[string]                // type
	Name              string                           // name
	Description       string                           // description
	Image             IRIOr[Image]                     // image
	AwardedDate       string                           // awardedDate
	Issuer            IRIOr[Profile]                   // issuer
	ValidFrom         string                           // validFrom
	ValidUntil        string                           // validUntil
	IssuanceDate      string                           // issuanceDate
	ExpirationDate    string                           // expirationDate
	CredentialSubject json.RawMessage                  // credentialSubject
	Endorsement       OneOrMany[EndorsementCredential] // endorsement
	EndorsementJwt    OneOrMany[string]                // endorsementJwt
	Evidence          OneOrMany[Evidence]              // evidence
	CredentialSchema  OneOrMany[CredentialSchema]      // credentialSchema
	CredentialStatus  OneOrMany[CredentialStatus]      // credentialStatus
	RefreshService    *RefreshService                  // refreshService
	TermsOfUse        OneOrMany[TermsOfUse]            // termsOfUse
	Proof             OneOrMany[Proof]                 // proof
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Credential) props() []prop {
	return []prop{
		{"@context", val(&x.Context)},
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"name", str(&x.Name)},
		{"description", str(&x.Description)},
		{"image", val(&x.Image)},
		{"awardedDate", str(&x.AwardedDate)},
		{"issuer", val(&x.Issuer)},
		{"validFrom", str(&x.ValidFrom)},
		{"validUntil", str(&x.ValidUntil)},
		{"issuanceDate", str(&x.IssuanceDate)},
		{"expirationDate", str(&x.ExpirationDate)},
		{"credentialSubject", raw(&x.CredentialSubject)},
		{"endorsement", val(&x.Endorsement)},
		{"endorsementJwt", strs(&x.EndorsementJwt)},
		{"evidence", val(&x.Evidence)},
		{"credentialSchema", val(&x.CredentialSchema)},
		{"credentialStatus", val(&x.CredentialStatus)},
		{"refreshService", obj(&x.RefreshService)},
		{"termsOfUse", val(&x.TermsOfUse)},
		{"proof", val(&x.Proof)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Credential) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Credential) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Credential) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Credential) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Credential{}
	return decodeObject(b, x.props(), &x.Extra)
}

// ClrCredential is a CLR 2.0 ClrCredential: a Verifiable Credential whose
// subject (ClrSubject) carries the learner's achievements, the credentials
// that assert them, and associations between achievements.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type ClrCredential struct {
	Context           OneOrMany[ContextEntry]          // @context
	ID                string                           // id
	Type              OneOrMany[string]                // type
	Name              string                           // name
	Description       string                           // description
	Image             IRIOr[Image]                     // image
	AwardedDate       string                           // awardedDate
	Issuer            IRIOr[Profile]                   // issuer
	ValidFrom         string                           // validFrom
	ValidUntil        string                           // validUntil
	IssuanceDate      string                           // issuanceDate
	ExpirationDate    string                           // expirationDate
	Partial           *bool                            // partial
	CredentialSubject *ClrSubject                      // credentialSubject
	Endorsement       OneOrMany[EndorsementCredential] // endorsement
	EndorsementJwt    OneOrMany[string]                // endorsementJwt
	Evidence          OneOrMany[Evidence]              // evidence
	CredentialSchema  OneOrMany[CredentialSchema]      // credentialSchema
	CredentialStatus  OneOrMany[CredentialStatus]      // credentialStatus
	RefreshService    *RefreshService                  // refreshService
	TermsOfUse        OneOrMany[TermsOfUse]            // termsOfUse
	Proof             OneOrMany[Proof]                 // proof
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *ClrCredential) props() []prop {
	return []prop{
		{"@context", val(&x.Context)},
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"name", str(&x.Name)},
		{"description", str(&x.Description)},
		{"image", val(&x.Image)},
		{"awardedDate", str(&x.AwardedDate)},
		{"issuer", val(&x.Issuer)},
		{"validFrom", str(&x.ValidFrom)},
		{"validUntil", str(&x.ValidUntil)},
		{"issuanceDate", str(&x.IssuanceDate)},
		{"expirationDate", str(&x.ExpirationDate)},
		{"partial", boolean(&x.Partial)},
		{"credentialSubject", obj(&x.CredentialSubject)},
		{"endorsement", val(&x.Endorsement)},
		{"endorsementJwt", strs(&x.EndorsementJwt)},
		{"evidence", val(&x.Evidence)},
		{"credentialSchema", val(&x.CredentialSchema)},
		{"credentialStatus", val(&x.CredentialStatus)},
		{"refreshService", obj(&x.RefreshService)},
		{"termsOfUse", val(&x.TermsOfUse)},
		{"proof", val(&x.Proof)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x ClrCredential) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *ClrCredential) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *ClrCredential) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *ClrCredential) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = ClrCredential{}
	return decodeObject(b, x.props(), &x.Extra)
}

// AchievementCredential is an Open Badges 3.0 AchievementCredential (also
// typed OpenBadgeCredential): one achievement asserted about one subject.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type AchievementCredential struct {
	Context           OneOrMany[ContextEntry]          // @context
	ID                string                           // id
	Type              OneOrMany[string]                // type
	Name              string                           // name
	Description       string                           // description
	Image             IRIOr[Image]                     // image
	AwardedDate       string                           // awardedDate
	Issuer            IRIOr[Profile]                   // issuer
	ValidFrom         string                           // validFrom
	ValidUntil        string                           // validUntil
	IssuanceDate      string                           // issuanceDate
	ExpirationDate    string                           // expirationDate
	CredentialSubject *AchievementSubject              // credentialSubject
	Endorsement       OneOrMany[EndorsementCredential] // endorsement
	EndorsementJwt    OneOrMany[string]                // endorsementJwt
	Evidence          OneOrMany[Evidence]              // evidence
	CredentialSchema  OneOrMany[CredentialSchema]      // credentialSchema
	CredentialStatus  OneOrMany[CredentialStatus]      // credentialStatus
	RefreshService    *RefreshService                  // refreshService
	TermsOfUse        OneOrMany[TermsOfUse]            // termsOfUse
	Proof             OneOrMany[Proof]                 // proof
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *AchievementCredential) props() []prop {
	return []prop{
		{"@context", val(&x.Context)},
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"name", str(&x.Name)},
		{"description", str(&x.Description)},
		{"image", val(&x.Image)},
		{"awardedDate", str(&x.AwardedDate)},
		{"issuer", val(&x.Issuer)},
		{"validFrom", str(&x.ValidFrom)},
		{"validUntil", str(&x.ValidUntil)},
		{"issuanceDate", str(&x.IssuanceDate)},
		{"expirationDate", str(&x.ExpirationDate)},
		{"credentialSubject", obj(&x.CredentialSubject)},
		{"endorsement", val(&x.Endorsement)},
		{"endorsementJwt", strs(&x.EndorsementJwt)},
		{"evidence", val(&x.Evidence)},
		{"credentialSchema", val(&x.CredentialSchema)},
		{"credentialStatus", val(&x.CredentialStatus)},
		{"refreshService", obj(&x.RefreshService)},
		{"termsOfUse", val(&x.TermsOfUse)},
		{"proof", val(&x.Proof)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x AchievementCredential) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *AchievementCredential) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *AchievementCredential) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *AchievementCredential) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = AchievementCredential{}
	return decodeObject(b, x.props(), &x.Extra)
}

// EndorsementCredential is an Open Badges 3.0 EndorsementCredential: a third
// party's endorsement of an issuer, achievement or credential.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type EndorsementCredential struct {
	Context           OneOrMany[ContextEntry]          // @context
	ID                string                           // id
	Type              OneOrMany[string]                // type
	Name              string                           // name
	Description       string                           // description
	Image             IRIOr[Image]                     // image
	AwardedDate       string                           // awardedDate
	Issuer            IRIOr[Profile]                   // issuer
	ValidFrom         string                           // validFrom
	ValidUntil        string                           // validUntil
	IssuanceDate      string                           // issuanceDate
	ExpirationDate    string                           // expirationDate
	CredentialSubject *EndorsementSubject              // credentialSubject
	Endorsement       OneOrMany[EndorsementCredential] // endorsement
	EndorsementJwt    OneOrMany[string]                // endorsementJwt
	Evidence          OneOrMany[Evidence]              // evidence
	CredentialSchema  OneOrMany[CredentialSchema]      // credentialSchema
	CredentialStatus  OneOrMany[CredentialStatus]      // credentialStatus
	RefreshService    *RefreshService                  // refreshService
	TermsOfUse        OneOrMany[TermsOfUse]            // termsOfUse
	Proof             OneOrMany[Proof]                 // proof
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *EndorsementCredential) props() []prop {
	return []prop{
		{"@context", val(&x.Context)},
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"name", str(&x.Name)},
		{"description", str(&x.Description)},
		{"image", val(&x.Image)},
		{"awardedDate", str(&x.AwardedDate)},
		{"issuer", val(&x.Issuer)},
		{"validFrom", str(&x.ValidFrom)},
		{"validUntil", str(&x.ValidUntil)},
		{"issuanceDate", str(&x.IssuanceDate)},
		{"expirationDate", str(&x.ExpirationDate)},
		{"credentialSubject", obj(&x.CredentialSubject)},
		{"endorsement", val(&x.Endorsement)},
		{"endorsementJwt", strs(&x.EndorsementJwt)},
		{"evidence", val(&x.Evidence)},
		{"credentialSchema", val(&x.CredentialSchema)},
		{"credentialStatus", val(&x.CredentialStatus)},
		{"refreshService", obj(&x.RefreshService)},
		{"termsOfUse", val(&x.TermsOfUse)},
		{"proof", val(&x.Proof)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x EndorsementCredential) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *EndorsementCredential) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *EndorsementCredential) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *EndorsementCredential) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = EndorsementCredential{}
	return decodeObject(b, x.props(), &x.Extra)
}

// ClrSubject is the subject of a ClrCredential.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type ClrSubject struct {
	ID                   string                           // id
	Type                 OneOrMany[string]                // type
	Identifier           OneOrMany[IdentityObject]        // identifier
	Achievement          OneOrMany[Achievement]           // achievement
	VerifiableCredential OneOrMany[AchievementCredential] // verifiableCredential
	Association          OneOrMany[Association]           // association
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *ClrSubject) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"identifier", val(&x.Identifier)},
		{"achievement", val(&x.Achievement)},
		{"verifiableCredential", val(&x.VerifiableCredential)},
		{"association", val(&x.Association)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x ClrSubject) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *ClrSubject) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *ClrSubject) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *ClrSubject) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = ClrSubject{}
	return decodeObject(b, x.props(), &x.Extra)
}

// AchievementSubject is the subject of an AchievementCredential: the recipient
// and what they achieved.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type AchievementSubject struct {
	ID                string                    // id
	Type              OneOrMany[string]         // type
	ActivityEndDate   string                    // activityEndDate
	ActivityStartDate string                    // activityStartDate
	CreditsEarned     *float64                  // creditsEarned
	Achievement       *Achievement              // achievement
	Identifier        OneOrMany[IdentityObject] // identifier
	Image             IRIOr[Image]              // image
	LicenseNumber     string                    // licenseNumber
	Narrative         string                    // narrative
	Result            OneOrMany[Result]         // result
	Role              string                    // role
	Source            *Profile                  // source
	Term              string                    // term
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *AchievementSubject) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"activityEndDate", str(&x.ActivityEndDate)},
		{"activityStartDate", str(&x.ActivityStartDate)},
		{"creditsEarned", num(&x.CreditsEarned)},
		{"achievement", obj(&x.Achievement)},
		{"identifier", val(&x.Identifier)},
		{"image", val(&x.Image)},
		{"licenseNumber", str(&x.LicenseNumber)},
		{"narrative", str(&x.Narrative)},
		{"result", val(&x.Result)},
		{"role", str(&x.Role)},
		{"source", obj(&x.Source)},
		{"term", str(&x.Term)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x AchievementSubject) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *AchievementSubject) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *AchievementSubject) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *AchievementSubject) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = AchievementSubject{}
	return decodeObject(b, x.props(), &x.Extra)
}

// EndorsementSubject is the subject of an EndorsementCredential.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type EndorsementSubject struct {
	ID                 string            // id
	Type               OneOrMany[string] // type
	EndorsementComment string            // endorsementComment
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *EndorsementSubject) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"endorsementComment", str(&x.EndorsementComment)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x EndorsementSubject) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *EndorsementSubject) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *EndorsementSubject) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *EndorsementSubject) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = EndorsementSubject{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Achievement is an accomplishment: a course, competency, degree, badge, etc.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Achievement struct {
	ID                string                           // id
	Type              OneOrMany[string]                // type
	Alignment         OneOrMany[Alignment]             // alignment
	AchievementType   string                           // achievementType
	Creator           *Profile                         // creator
	CreditsAvailable  *float64                         // creditsAvailable
	Criteria          *Criteria                        // criteria
	Description       string                           // description
	Endorsement       OneOrMany[EndorsementCredential] // endorsement
	EndorsementJwt    OneOrMany[string]                // endorsementJwt
	FieldOfStudy      string                           // fieldOfStudy
	HumanCode         string                           // humanCode
	Image             IRIOr[Image]                     // image
	InLanguage        string                           // inLanguage
	Name              string                           // name
	OtherIdentifier   OneOrMany[IdentifierEntry]       // otherIdentifier
	Related           OneOrMany[Related]               // related
	ResultDescription OneOrMany[ResultDescription]     // resultDescription
	Specialization    string                           // specialization
	Tag               OneOrMany[string]                // tag
	Version           string                           // version
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Achievement) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"alignment", val(&x.Alignment)},
		{"achievementType", str(&x.AchievementType)},
		{"creator", obj(&x.Creator)},
		{"creditsAvailable", num(&x.CreditsAvailable)},
		{"criteria", obj(&x.Criteria)},
		{"description", str(&x.Description)},
		{"endorsement", val(&x.Endorsement)},
		{"endorsementJwt", strs(&x.EndorsementJwt)},
		{"fieldOfStudy", str(&x.FieldOfStudy)},
		{"humanCode", str(&x.HumanCode)},
		{"image", val(&x.Image)},
		{"inLanguage", str(&x.InLanguage)},
		{"name", str(&x.Name)},
		{"otherIdentifier", val(&x.OtherIdentifier)},
		{"related", val(&x.Related)},
		{"resultDescription", val(&x.ResultDescription)},
		{"specialization", str(&x.Specialization)},
		{"tag", strs(&x.Tag)},
		{"version", str(&x.Version)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Achievement) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Achievement) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Achievement) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Achievement) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Achievement{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Criteria is how an achievement is earned.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Criteria struct {
	ID        string // id
	Narrative string // narrative
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Criteria) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"narrative", str(&x.Narrative)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Criteria) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Criteria) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Criteria) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Criteria) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Criteria{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Alignment is an alignment of an achievement, result or rubric level to a
// node in an educational framework.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Alignment struct {
	Type              OneOrMany[string] // type
	TargetCode        string            // targetCode
	TargetDescription string            // targetDescription
	TargetName        string            // targetName
	TargetFramework   string            // targetFramework
	TargetType        string            // targetType
	TargetURL         string            // targetUrl
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Alignment) props() []prop {
	return []prop{
		{"type", strs(&x.Type)},
		{"targetCode", str(&x.TargetCode)},
		{"targetDescription", str(&x.TargetDescription)},
		{"targetName", str(&x.TargetName)},
		{"targetFramework", str(&x.TargetFramework)},
		{"targetType", str(&x.TargetType)},
		{"targetUrl", str(&x.TargetURL)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Alignment) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Alignment) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Alignment) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Alignment) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Alignment{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Result is a result the subject achieved (grade, score, level, status).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Result struct {
	Type              OneOrMany[string]    // type
	AchievedLevel     string               // achievedLevel
	Alignment         OneOrMany[Alignment] // alignment
	ResultDescription string               // resultDescription
	Status            string               // status
	Value             string               // value
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Result) props() []prop {
	return []prop{
		{"type", strs(&x.Type)},
		{"achievedLevel", str(&x.AchievedLevel)},
		{"alignment", val(&x.Alignment)},
		{"resultDescription", str(&x.ResultDescription)},
		{"status", str(&x.Status)},
		{"value", str(&x.Value)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Result) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Result) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Result) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Result) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Result{}
	return decodeObject(b, x.props(), &x.Extra)
}

// ResultDescription is describes a possible result of an achievement (its
// type, allowed values, rubric).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type ResultDescription struct {
	ID                   string                          // id
	Type                 OneOrMany[string]               // type
	Alignment            OneOrMany[Alignment]            // alignment
	AllowedValue         OneOrMany[string]               // allowedValue
	Name                 string                          // name
	RequiredLevel        string                          // requiredLevel
	RequiredValue        string                          // requiredValue
	ResultType           string                          // resultType
	RubricCriterionLevel OneOrMany[RubricCriterionLevel] // rubricCriterionLevel
	ValueMax             string                          // valueMax
	ValueMin             string                          // valueMin
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *ResultDescription) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"alignment", val(&x.Alignment)},
		{"allowedValue", strs(&x.AllowedValue)},
		{"name", str(&x.Name)},
		{"requiredLevel", str(&x.RequiredLevel)},
		{"requiredValue", str(&x.RequiredValue)},
		{"resultType", str(&x.ResultType)},
		{"rubricCriterionLevel", val(&x.RubricCriterionLevel)},
		{"valueMax", str(&x.ValueMax)},
		{"valueMin", str(&x.ValueMin)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x ResultDescription) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *ResultDescription) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *ResultDescription) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *ResultDescription) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = ResultDescription{}
	return decodeObject(b, x.props(), &x.Extra)
}

// RubricCriterionLevel is a level of a rubric criterion (for example Exposure
// / Integration / Transformation).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type RubricCriterionLevel struct {
	ID          string               // id
	Type        OneOrMany[string]    // type
	Alignment   OneOrMany[Alignment] // alignment
	Description string               // description
	Level       string               // level
	Name        string               // name
	Points      string               // points
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *RubricCriterionLevel) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"alignment", val(&x.Alignment)},
		{"description", str(&x.Description)},
		{"level", str(&x.Level)},
		{"name", str(&x.Name)},
		{"points", str(&x.Points)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x RubricCriterionLevel) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *RubricCriterionLevel) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *RubricCriterionLevel) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *RubricCriterionLevel) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = RubricCriterionLevel{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Related is identifies a related achievement (for example the same
// achievement in another language).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Related struct {
	ID         string            // id
	Type       OneOrMany[string] // type
	InLanguage string            // inLanguage
	Version    string            // version
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Related) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"inLanguage", str(&x.InLanguage)},
		{"version", str(&x.Version)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Related) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Related) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Related) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Related) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Related{}
	return decodeObject(b, x.props(), &x.Extra)
}

// IdentityObject is a (possibly hashed) identifier of the credential subject.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type IdentityObject struct {
	Type         string // type
	Hashed       *bool  // hashed
	IdentityHash string // identityHash
	IdentityType string // identityType
	Salt         string // salt
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *IdentityObject) props() []prop {
	return []prop{
		{"type", str(&x.Type)},
		{"hashed", boolean(&x.Hashed)},
		{"identityHash", str(&x.IdentityHash)},
		{"identityType", str(&x.IdentityType)},
		{"salt", str(&x.Salt)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x IdentityObject) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *IdentityObject) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *IdentityObject) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *IdentityObject) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = IdentityObject{}
	return decodeObject(b, x.props(), &x.Extra)
}

// IdentifierEntry is an alternative identifier of a profile or achievement.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type IdentifierEntry struct {
	Type           string // type
	Identifier     string // identifier
	IdentifierType string // identifierType
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *IdentifierEntry) props() []prop {
	return []prop{
		{"type", str(&x.Type)},
		{"identifier", str(&x.Identifier)},
		{"identifierType", str(&x.IdentifierType)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x IdentifierEntry) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *IdentifierEntry) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *IdentifierEntry) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *IdentifierEntry) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = IdentifierEntry{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Profile is a person or organization: issuer, creator, endorser or source.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Profile struct {
	ID               string                           // id
	Type             OneOrMany[string]                // type
	Name             string                           // name
	URL              string                           // url
	Phone            string                           // phone
	Description      string                           // description
	Endorsement      OneOrMany[EndorsementCredential] // endorsement
	EndorsementJwt   OneOrMany[string]                // endorsementJwt
	Image            IRIOr[Image]                     // image
	Email            string                           // email
	Address          *Address                         // address
	OtherIdentifier  OneOrMany[IdentifierEntry]       // otherIdentifier
	Official         string                           // official
	ParentOrg        *Profile                         // parentOrg
	FamilyName       string                           // familyName
	GivenName        string                           // givenName
	AdditionalName   string                           // additionalName
	PatronymicName   string                           // patronymicName
	HonorificPrefix  string                           // honorificPrefix
	HonorificSuffix  string                           // honorificSuffix
	FamilyNamePrefix string                           // familyNamePrefix
	DateOfBirth      string                           // dateOfBirth
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Profile) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"name", str(&x.Name)},
		{"url", str(&x.URL)},
		{"phone", str(&x.Phone)},
		{"description", str(&x.Description)},
		{"endorsement", val(&x.Endorsement)},
		{"endorsementJwt", strs(&x.EndorsementJwt)},
		{"image", val(&x.Image)},
		{"email", str(&x.Email)},
		{"address", obj(&x.Address)},
		{"otherIdentifier", val(&x.OtherIdentifier)},
		{"official", str(&x.Official)},
		{"parentOrg", obj(&x.ParentOrg)},
		{"familyName", str(&x.FamilyName)},
		{"givenName", str(&x.GivenName)},
		{"additionalName", str(&x.AdditionalName)},
		{"patronymicName", str(&x.PatronymicName)},
		{"honorificPrefix", str(&x.HonorificPrefix)},
		{"honorificSuffix", str(&x.HonorificSuffix)},
		{"familyNamePrefix", str(&x.FamilyNamePrefix)},
		{"dateOfBirth", str(&x.DateOfBirth)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Profile) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Profile) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Profile) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Profile) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Profile{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Address is a postal address.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Address struct {
	Type                OneOrMany[string] // type
	AddressCountry      string            // addressCountry
	AddressCountryCode  string            // addressCountryCode
	AddressRegion       string            // addressRegion
	AddressLocality     string            // addressLocality
	StreetAddress       string            // streetAddress
	PostOfficeBoxNumber string            // postOfficeBoxNumber
	PostalCode          string            // postalCode
	Geo                 *GeoCoordinates   // geo
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Address) props() []prop {
	return []prop{
		{"type", strs(&x.Type)},
		{"addressCountry", str(&x.AddressCountry)},
		{"addressCountryCode", str(&x.AddressCountryCode)},
		{"addressRegion", str(&x.AddressRegion)},
		{"addressLocality", str(&x.AddressLocality)},
		{"streetAddress", str(&x.StreetAddress)},
		{"postOfficeBoxNumber", str(&x.PostOfficeBoxNumber)},
		{"postalCode", str(&x.PostalCode)},
		{"geo", obj(&x.Geo)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Address) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Address) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Address) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Address) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Address{}
	return decodeObject(b, x.props(), &x.Extra)
}

// GeoCoordinates is the geographic coordinates of a location.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type GeoCoordinates struct {
	Type      string   // type
	Latitude  *float64 // latitude
	Longitude *float64 // longitude
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *GeoCoordinates) props() []prop {
	return []prop{
		{"type", str(&x.Type)},
		{"latitude", num(&x.Latitude)},
		{"longitude", num(&x.Longitude)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x GeoCoordinates) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *GeoCoordinates) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *GeoCoordinates) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *GeoCoordinates) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = GeoCoordinates{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Image is metadata about an image (its id is the image URL or a data: URI).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Image struct {
	ID      string // id
	Type    string // type
	Caption string // caption
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Image) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", str(&x.Type)},
		{"caption", str(&x.Caption)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Image) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Image) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Image) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Image) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Image{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Evidence is a description of the work the recipient did to earn an
// achievement.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Evidence struct {
	ID          string            // id
	Type        OneOrMany[string] // type
	Narrative   string            // narrative
	Name        string            // name
	Description string            // description
	Genre       string            // genre
	Audience    string            // audience
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Evidence) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", strs(&x.Type)},
		{"narrative", str(&x.Narrative)},
		{"name", str(&x.Name)},
		{"description", str(&x.Description)},
		{"genre", str(&x.Genre)},
		{"audience", str(&x.Audience)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Evidence) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Evidence) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Evidence) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Evidence) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Evidence{}
	return decodeObject(b, x.props(), &x.Extra)
}

// CredentialStatus is where and how to check whether a credential was revoked
// or suspended (1EdTechRevocationList, BitstringStatusListEntry, ...).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type CredentialStatus struct {
	ID                   string          // id
	Type                 string          // type
	StatusPurpose        string          // statusPurpose
	StatusListIndex      json.RawMessage // statusListIndex
	StatusListCredential string          // statusListCredential
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *CredentialStatus) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", str(&x.Type)},
		{"statusPurpose", str(&x.StatusPurpose)},
		{"statusListIndex", raw(&x.StatusListIndex)},
		{"statusListCredential", str(&x.StatusListCredential)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x CredentialStatus) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *CredentialStatus) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *CredentialStatus) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *CredentialStatus) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = CredentialStatus{}
	return decodeObject(b, x.props(), &x.Extra)
}

// CredentialSchema is a schema the credential conforms to
// (1EdTechJsonSchemaValidator2019).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type CredentialSchema struct {
	ID   string // id
	Type string // type
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *CredentialSchema) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", str(&x.Type)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x CredentialSchema) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *CredentialSchema) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *CredentialSchema) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *CredentialSchema) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = CredentialSchema{}
	return decodeObject(b, x.props(), &x.Extra)
}

// RefreshService is a service from which a refreshed credential can be
// obtained.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type RefreshService struct {
	ID   string // id
	Type string // type
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *RefreshService) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", str(&x.Type)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x RefreshService) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *RefreshService) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *RefreshService) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *RefreshService) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = RefreshService{}
	return decodeObject(b, x.props(), &x.Extra)
}

// TermsOfUse is terms under which the credential was issued.
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type TermsOfUse struct {
	ID   string // id
	Type string // type
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *TermsOfUse) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", str(&x.Type)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x TermsOfUse) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *TermsOfUse) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *TermsOfUse) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *TermsOfUse) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = TermsOfUse{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Proof is an embedded proof (DataIntegrityProof, Ed25519Signature2020, ...).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Proof struct {
	ID                 string            // id
	Type               string            // type
	Created            string            // created
	Expires            string            // expires
	Cryptosuite        string            // cryptosuite
	Challenge          string            // challenge
	Domain             string            // domain
	Nonce              string            // nonce
	ProofPurpose       string            // proofPurpose
	ProofValue         string            // proofValue
	JWS                string            // jws
	VerificationMethod string            // verificationMethod
	PreviousProof      OneOrMany[string] // previousProof
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Proof) props() []prop {
	return []prop{
		{"id", str(&x.ID)},
		{"type", str(&x.Type)},
		{"created", str(&x.Created)},
		{"expires", str(&x.Expires)},
		{"cryptosuite", str(&x.Cryptosuite)},
		{"challenge", str(&x.Challenge)},
		{"domain", str(&x.Domain)},
		{"nonce", str(&x.Nonce)},
		{"proofPurpose", str(&x.ProofPurpose)},
		{"proofValue", str(&x.ProofValue)},
		{"jws", str(&x.JWS)},
		{"verificationMethod", str(&x.VerificationMethod)},
		{"previousProof", strs(&x.PreviousProof)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Proof) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Proof) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Proof) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Proof) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Proof{}
	return decodeObject(b, x.props(), &x.Extra)
}

// Association is a relationship between two achievements of a CLR (for example
// isParentOf).
// Unknown properties, and known ones whose value has an unexpected shape, are kept in Extra.
type Association struct {
	Type            string // type
	AssociationType string // associationType
	SourceID        string // sourceId
	TargetID        string // targetId
	// Extra holds every other property verbatim, keyed by name.
	Extra map[string]json.RawMessage
}

func (x *Association) props() []prop {
	return []prop{
		{"type", str(&x.Type)},
		{"associationType", str(&x.AssociationType)},
		{"sourceId", str(&x.SourceID)},
		{"targetId", str(&x.TargetID)},
	}
}

// MarshalJSON writes the known properties followed by Extra.
func (x Association) MarshalJSON() ([]byte, error) { return x.appendJSON(nil) }

func (x *Association) appendJSON(dst []byte) ([]byte, error) {
	return encodeObject(dst, x.props(), x.Extra)
}

// UnmarshalJSON reads a JSON object; it fails only if b is not a JSON object.
func (x *Association) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, x) }

func (x *Association) decodeRaw(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	*x = Association{}
	return decodeObject(b, x.props(), &x.Extra)
}
