package validate

import (
	"regexp"

	"github.com/learnerrecords/clr-operator/internal/credential/model"
)

// One method per class of the data model, mirroring the $defs of the official
// schemas; rules of the spec text that the schemas lack are guarded by w.spec
// and listed in spec.go.

var (
	clrContextRe = regexp.MustCompile(`^https:\/\/purl\.imsglobal\.org\/spec\/clr\/v2p0\/context(-2\.\d\.\d)*\.json$`)
	obContextRe  = regexp.MustCompile(`^https:\/\/purl\.imsglobal\.org\/spec\/ob\/v3p0\/context(-3\.\d\.\d)*\.json$`)
)

var credentialTypes = map[Kind][]string{
	KindClr:         {model.TypeClrCredential},
	KindAchievement: {model.TypeAchievementCredential, model.TypeOpenBadgeCredential},
	KindEndorsement: {model.TypeEndorsementCredential},
}

// credential validates a ClrCredential, AchievementCredential or
// EndorsementCredential (top-level or embedded).
func (w *walker) credential(m map[string]any, p *path, kind Kind) {
	vc1 := w.context(m, p, kind)
	switch kind {
	case KindAchievement:
		w.required(m, p, "@context", "id", "type", "credentialSubject", "issuer")
		if w.spec {
			w.required(m, p, "name")
		}
	default:
		w.required(m, p, "@context", "type", "id", "name", "credentialSubject", "issuer")
	}
	w.validity(m, p, vc1)
	w.typeList(m, p, []string{model.TypeVerifiableCredential}, credentialTypes[kind])
	w.uri(m, p, "id")
	w.text(m, p, "name", "description")
	w.single(m, p, "image", w.image)
	w.dateTime(m, p, "awardedDate")
	w.single(m, p, "issuer", w.profileRef)
	w.credentialCommon(m, p)
	switch kind {
	case KindClr:
		w.boolean(m, p, "partial")
		w.single(m, p, "credentialSubject", w.clrSubject)
	case KindAchievement:
		w.single(m, p, "credentialSubject", w.achievementSubject)
	case KindEndorsement:
		w.single(m, p, "credentialSubject", w.endorsementSubject)
	}
	if kind != KindEndorsement {
		w.endorsements(m, p)
	}
}

// validity checks validFrom/validUntil, or for a VC 1.1 credential (spec
// level only) issuanceDate/expirationDate.
func (w *walker) validity(m map[string]any, p *path, vc1 bool) {
	if vc1 && w.spec {
		w.required(m, p, "issuanceDate")
		w.dateTime(m, p, "issuanceDate", "expirationDate")
	} else {
		w.required(m, p, "validFrom")
	}
	w.dateTime(m, p, "validFrom", "validUntil")
}

// credentialCommon checks the VC properties every credential def shares.
func (w *walker) credentialCommon(m map[string]any, p *path) {
	w.oneOrMany(m, p, "proof", w.proof)
	w.oneOrMany(m, p, "credentialSchema", w.credentialSchema)
	w.single(m, p, "credentialStatus", w.credentialStatus)
	w.single(m, p, "refreshService", w.refreshService)
	w.oneOrMany(m, p, "termsOfUse", w.termsOfUse)
	w.oneOrMany(m, p, "evidence", w.evidence)
}

func (w *walker) endorsements(m map[string]any, p *path) {
	w.oneOrMany(m, p, "endorsement", w.endorsementCredential)
	w.oneOrMany(m, p, "endorsementJwt", func(v any, p *path) {
		if s, ok := v.(string); ok {
			if !jwsRe.MatchString(s) {
				w.fail(p, "", CodeFormat, "not a compact JWS")
			}
			return
		}
		if !isLangMap(v, jwsRe) {
			w.fail(p, "", CodeType, "must be a compact JWS string, not %s", jsonType(v))
		}
	})
}

// context checks @context and reports whether the credential is VC 1.1
// (first context https://www.w3.org/2018/credentials/v1; spec level only).
//
// Schema: a single string or object passes; an array must start with the VC
// 2.0 context, then (ClrCredential) the CLR 2.0 and OB 3.0 contexts or
// (AchievementCredential, EndorsementCredential) the OB 3.0 context; further
// items are strings or objects.
// Spec: the same, but it must be an array, and VC 1.1's context may replace
// the VC 2.0 one.
func (w *walker) context(m map[string]any, p *path, kind Kind) (vc1 bool) {
	v, ok := m["@context"]
	if !ok {
		return false
	}
	var want []*regexp.Regexp
	var names []string
	switch kind {
	case KindClr:
		want, names = []*regexp.Regexp{clrContextRe, obContextRe}, []string{"the CLR 2.0 context", "the OB 3.0 context"}
	case KindAchievement, KindEndorsement:
		want, names = []*regexp.Regexp{obContextRe}, []string{"the OB 3.0 context"}
	}
	arr, isArr := v.([]any)
	if !isArr {
		_, isStr := v.(string)
		_, isObj := v.(map[string]any)
		switch {
		case !isStr && !isObj:
			w.fail(p, "@context", CodeContext, "must be an array of context IRIs, not %s", jsonType(v))
		case w.spec:
			w.fail(p, "@context", CodeContext, "must be an array starting with %s", model.ContextVC2)
		}
		return false
	}
	cp := p.key1("@context")
	if len(arr) < 1+len(want) {
		w.fail(p, "@context", CodeContext, "must list at least %d contexts", 1+len(want))
	}
	for i, x := range arr {
		s, isStr := x.(string)
		switch {
		case i == 0:
			switch {
			case s == model.ContextVC2 && isStr:
			case s == model.ContextVC1 && isStr && w.spec:
				vc1 = true
			default:
				w.fail(cp.at(0), "", CodeContext, "first context must be %s", model.ContextVC2)
			}
		case i <= len(want):
			if !isStr || !want[i-1].MatchString(s) {
				w.fail(cp.at(i), "", CodeContext, "context %d must be %s", i+1, names[i-1])
			}
		default:
			if _, isObj := x.(map[string]any); !isStr && !isObj && !isLangMap(x, nil) {
				w.fail(cp.at(i), "", CodeContext, "must be a context IRI or an inline context object, not %s", jsonType(x))
			} else if isStr && w.spec && !isURI(s) {
				w.fail(cp.at(i), "", CodeContext, "%q is not an absolute IRI", s)
			}
		}
	}
	return vc1
}

// genericCredential validates an embedded Verifiable Credential of a class
// the schemas do not pin down (the VerifiableCredential $def of the CLR
// schema); at spec level an embedded credential of a known class is validated
// as that class instead.
func (w *walker) genericCredential(v any, p *path) {
	m, ok := w.object(v, p, "VerifiableCredential")
	if !ok {
		return
	}
	kind := detectKind(m)
	if w.spec {
		if !w.countCredential(p) {
			return
		}
		if kind == KindClr || kind == KindAchievement || kind == KindEndorsement {
			w.credential(m, p, kind)
			return
		}
	}
	vc1 := false
	if ctx, ok := m["@context"]; ok {
		arr, isArr := ctx.([]any)
		switch {
		case isArr:
			if len(arr) < 1 {
				w.fail(p, "@context", CodeContext, "must not be empty")
			}
			for i, x := range arr {
				s, isStr := x.(string)
				if i == 0 {
					if isStr && s == model.ContextVC1 && w.spec {
						vc1 = true
					} else if !isStr || s != model.ContextVC2 {
						w.fail(p.key1("@context").at(0), "", CodeContext, "first context must be %s", model.ContextVC2)
					}
					continue
				}
				if _, isObj := x.(map[string]any); !isStr && !isObj {
					w.fail(p.key1("@context").at(i), "", CodeContext, "must be a context IRI or object, not %s", jsonType(x))
				}
			}
		case w.spec:
			w.fail(p, "@context", CodeContext, "must be an array starting with %s", model.ContextVC2)
		default:
			if _, isStr := ctx.(string); !isStr {
				if _, isObj := ctx.(map[string]any); !isObj {
					w.fail(p, "@context", CodeContext, "must be an array of context IRIs, not %s", jsonType(ctx))
				}
			}
		}
	}
	w.required(m, p, "@context", "type", "issuer", "credentialSubject")
	w.validity(m, p, vc1)
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeVerifiableCredential})
	w.single(m, p, "issuer", w.profileRef)
	w.single(m, p, "credentialSubject", func(v any, p *path) {
		if s, ok := w.object(v, p, "credentialSubject"); ok {
			w.uri(s, p, "id")
		}
	})
	w.credentialCommon(m, p)
}

// countCredential enforces MaxCredentials on embedded credentials.
func (w *walker) countCredential(p *path) bool {
	w.creds++
	if w.creds > w.opts.MaxCredentials {
		if w.creds == w.opts.MaxCredentials+1 {
			w.fail(p, "", CodeLimit, "more than %d embedded credentials", w.opts.MaxCredentials)
		}
		return false
	}
	return true
}

func (w *walker) endorsementCredential(v any, p *path) {
	m, ok := w.object(v, p, "EndorsementCredential")
	if !ok || !w.countCredential(p) {
		return
	}
	w.credential(m, p, KindEndorsement)
}

func (w *walker) clrSubject(v any, p *path) {
	m, ok := w.object(v, p, "ClrSubject")
	if !ok {
		return
	}
	w.required(m, p, "type", "verifiableCredential")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeClrSubject})
	w.oneOrMany(m, p, "identifier", w.identityObject)
	w.oneOrMany(m, p, "achievement", w.achievement)
	if arr, ok := m["verifiableCredential"].([]any); ok && len(arr) == 0 {
		w.fail(p, "verifiableCredential", CodeCount, "must hold at least one credential")
	}
	w.oneOrMany(m, p, "verifiableCredential", w.genericCredential)
	w.oneOrMany(m, p, "association", w.association)
}

func (w *walker) achievementSubject(v any, p *path) {
	m, ok := w.object(v, p, "AchievementSubject")
	if !ok {
		return
	}
	w.required(m, p, "type", "achievement")
	if w.spec {
		if _, hasID := m["id"]; !hasID {
			if _, hasIdentifier := m["identifier"]; !hasIdentifier {
				w.fail(p, "id", CodeRequired, "either id or identifier is required")
			}
		}
	}
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeAchievementSubject})
	w.dateTime(m, p, "activityEndDate", "activityStartDate")
	w.number(m, p, "creditsEarned")
	w.single(m, p, "achievement", w.achievement)
	w.oneOrMany(m, p, "identifier", w.identityObject)
	w.single(m, p, "image", w.image)
	w.text(m, p, "licenseNumber", "narrative", "role", "term")
	w.oneOrMany(m, p, "result", w.result)
	w.single(m, p, "source", w.profile)
}

func (w *walker) endorsementSubject(v any, p *path) {
	m, ok := w.object(v, p, "EndorsementSubject")
	if !ok {
		return
	}
	w.required(m, p, "id", "type")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeEndorsementSubject})
	w.text(m, p, "endorsementComment")
}

func (w *walker) achievement(v any, p *path) {
	m, ok := w.object(v, p, "Achievement")
	if !ok {
		return
	}
	w.required(m, p, "id", "type", "criteria", "description", "name")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeAchievement})
	w.oneOrMany(m, p, "alignment", w.alignment)
	w.enumOrExt(m, p, "achievementType", model.AchievementTypes)
	w.single(m, p, "creator", w.profile)
	w.number(m, p, "creditsAvailable")
	w.single(m, p, "criteria", w.criteria)
	w.text(m, p, "description")
	w.endorsements(m, p)
	w.text(m, p, "fieldOfStudy", "humanCode", "name", "specialization", "version")
	w.single(m, p, "image", w.image)
	w.patText(m, p, "inLanguage", inLanguageRe, "language tag")
	w.oneOrMany(m, p, "otherIdentifier", w.identifierEntry)
	w.oneOrMany(m, p, "related", w.related)
	w.oneOrMany(m, p, "resultDescription", w.resultDescription)
	w.oneOrMany(m, p, "tag", func(v any, p *path) {
		if _, ok := v.(string); !ok && !isLangMap(v, nil) {
			w.fail(p, "", CodeType, "must be a string, not %s", jsonType(v))
		}
	})
}

func (w *walker) criteria(v any, p *path) {
	m, ok := w.object(v, p, "Criteria")
	if !ok {
		return
	}
	if w.spec {
		_, hasID := m["id"]
		_, hasNarrative := m["narrative"]
		if !hasID && !hasNarrative {
			w.fail(p, "narrative", CodeRequired, "criteria need an id (URL) or a narrative")
		}
	}
	w.uri(m, p, "id")
	w.text(m, p, "narrative")
}

func (w *walker) alignment(v any, p *path) {
	m, ok := w.object(v, p, "Alignment")
	if !ok {
		return
	}
	w.required(m, p, "type", "targetName", "targetUrl")
	w.typeList(m, p, []string{model.TypeAlignment})
	w.text(m, p, "targetCode", "targetDescription", "targetName", "targetFramework")
	w.enumOrExt(m, p, "targetType", model.AlignmentTargetTypes)
	w.uri(m, p, "targetUrl")
}

func (w *walker) result(v any, p *path) {
	m, ok := w.object(v, p, "Result")
	if !ok {
		return
	}
	w.required(m, p, "type")
	w.typeList(m, p, []string{model.TypeResult})
	w.text(m, p, "achievedLevel", "value")
	w.oneOrMany(m, p, "alignment", w.alignment)
	w.uri(m, p, "resultDescription")
	w.enum(m, p, "status", model.ResultStatuses)
}

func (w *walker) resultDescription(v any, p *path) {
	m, ok := w.object(v, p, "ResultDescription")
	if !ok {
		return
	}
	w.required(m, p, "id", "type", "name", "resultType")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeResultDescription})
	w.oneOrMany(m, p, "alignment", w.alignment)
	w.oneOrMany(m, p, "allowedValue", func(v any, p *path) {
		if _, ok := v.(string); !ok && !isLangMap(v, nil) {
			w.fail(p, "", CodeType, "must be a string, not %s", jsonType(v))
		}
	})
	w.text(m, p, "name", "requiredLevel", "requiredValue", "valueMax", "valueMin")
	w.enumOrExt(m, p, "resultType", model.ResultTypes)
	w.oneOrMany(m, p, "rubricCriterionLevel", w.rubricCriterionLevel)
}

func (w *walker) rubricCriterionLevel(v any, p *path) {
	m, ok := w.object(v, p, "RubricCriterionLevel")
	if !ok {
		return
	}
	w.required(m, p, "id", "type", "name")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeRubricCriterionLevel})
	w.oneOrMany(m, p, "alignment", w.alignment)
	w.text(m, p, "level", "name", "points", "description")
}

func (w *walker) related(v any, p *path) {
	m, ok := w.object(v, p, "Related")
	if !ok {
		return
	}
	w.required(m, p, "id", "type")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeRelated})
	w.patText(m, p, "inLanguage", inLanguageRe, "language tag")
	w.text(m, p, "version")
}

func (w *walker) identityObject(v any, p *path) {
	m, ok := w.object(v, p, "IdentityObject")
	if !ok {
		return
	}
	w.required(m, p, "type", "hashed", "identityHash", "identityType")
	w.noAdditional(m, p, "type", "hashed", "identityHash", "identityType", "salt")
	w.fixedType(m, p, model.TypeIdentityObject)
	w.boolean(m, p, "hashed")
	w.text(m, p, "identityHash", "salt")
	w.enumOrExt(m, p, "identityType", model.IdentifierTypes)
}

func (w *walker) identifierEntry(v any, p *path) {
	m, ok := w.object(v, p, "IdentifierEntry")
	if !ok {
		return
	}
	w.required(m, p, "type", "identifier", "identifierType")
	w.noAdditional(m, p, "type", "identifier", "identifierType")
	w.fixedType(m, p, model.TypeIdentifierEntry)
	w.text(m, p, "identifier")
	w.enumOrExt(m, p, "identifierType", model.IdentifierTypes)
}

// profileRef: an issuer, given as an IRI or a Profile. The schemas accept a
// language map too (anyOf Profile, String); the spec does not.
func (w *walker) profileRef(v any, p *path) {
	switch v.(type) {
	case string:
		if w.spec {
			w.uriValue(v, p, "")
		}
		return
	case map[string]any:
		if !w.spec && isLangMap(v, nil) {
			return
		}
	}
	w.profile(v, p)
}

func (w *walker) profile(v any, p *path) {
	m, ok := w.object(v, p, "Profile")
	if !ok {
		return
	}
	w.profileObj(m, p)
}

func (w *walker) profileObj(m map[string]any, p *path) {
	w.required(m, p, "id", "type")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeProfile})
	w.text(m, p, "name", "phone", "email", "official", "familyName", "givenName", "additionalName",
		"patronymicName", "honorificPrefix", "honorificSuffix", "familyNamePrefix", "description")
	w.uri(m, p, "url")
	w.endorsements(m, p)
	w.single(m, p, "image", w.image)
	w.single(m, p, "address", w.address)
	w.oneOrMany(m, p, "otherIdentifier", w.identifierEntry)
	w.single(m, p, "parentOrg", w.profile)
	w.date(m, p, "dateOfBirth")
}

func (w *walker) address(v any, p *path) {
	m, ok := w.object(v, p, "Address")
	if !ok {
		return
	}
	w.required(m, p, "type")
	w.typeList(m, p, []string{model.TypeAddress})
	w.text(m, p, "addressCountry", "addressCountryCode", "addressRegion", "addressLocality",
		"streetAddress", "postOfficeBoxNumber", "postalCode")
	w.single(m, p, "geo", w.geo)
}

func (w *walker) geo(v any, p *path) {
	m, ok := w.object(v, p, "GeoCoordinates")
	if !ok {
		return
	}
	w.required(m, p, "type", "latitude", "longitude")
	w.fixedType(m, p, model.TypeGeoCoordinates)
	w.number(m, p, "latitude", "longitude")
}

func (w *walker) image(v any, p *path) {
	m, ok := w.object(v, p, "Image")
	if !ok {
		return
	}
	w.required(m, p, "id", "type")
	w.noAdditional(m, p, "id", "type", "caption")
	w.uri(m, p, "id")
	w.fixedType(m, p, model.TypeImage)
	w.text(m, p, "caption")
}

func (w *walker) evidence(v any, p *path) {
	m, ok := w.object(v, p, "Evidence")
	if !ok {
		return
	}
	w.required(m, p, "type")
	w.uri(m, p, "id")
	w.typeList(m, p, []string{model.TypeEvidence})
	w.text(m, p, "narrative", "name", "description", "genre", "audience")
}

func (w *walker) association(v any, p *path) {
	m, ok := w.object(v, p, "Association")
	if !ok {
		return
	}
	w.required(m, p, "type", "associationType", "sourceId", "targetId")
	w.noAdditional(m, p, "type", "associationType", "sourceId", "targetId")
	w.fixedType(m, p, model.TypeAssociation)
	w.enum(m, p, "associationType", model.AssociationTypes)
	w.uri(m, p, "sourceId", "targetId")
}

func (w *walker) proof(v any, p *path) {
	m, ok := w.object(v, p, "Proof")
	if !ok {
		return
	}
	w.required(m, p, "type")
	w.iriText(m, p, "type")
	w.dateTime(m, p, "created")
	w.text(m, p, "cryptosuite", "challenge", "domain", "nonce", "proofPurpose", "proofValue")
	w.uri(m, p, "verificationMethod")
}

// typed checks {id?, type} helper objects (credentialSchema, status, ...).
func (w *walker) typed(v any, p *path, what string, required ...string) {
	m, ok := w.object(v, p, what)
	if !ok {
		return
	}
	w.required(m, p, required...)
	w.uri(m, p, "id")
	w.iriText(m, p, "type")
}

func (w *walker) credentialSchema(v any, p *path) { w.typed(v, p, "CredentialSchema", "id", "type") }
func (w *walker) credentialStatus(v any, p *path) {
	if arr, ok := v.([]any); ok && w.opts.StatusSet {
		if len(arr) == 0 {
			w.fail(p, "", CodeCount, "must not be an empty array")
		}
		for i, e := range arr {
			w.typed(e, p.at(i), "CredentialStatus", "type")
		}
		return
	}
	w.typed(v, p, "CredentialStatus", "type")
}
func (w *walker) refreshService(v any, p *path) { w.typed(v, p, "RefreshService", "id", "type") }
func (w *walker) termsOfUse(v any, p *path)     { w.typed(v, p, "TermsOfUse", "type") }

// iriText: a type name such as "DataIntegrityProof" (an IRI relative to the
// context). Schema: string or language map; spec: a non-empty string.
func (w *walker) iriText(m map[string]any, p *path, key string) {
	v, ok := m[key]
	if !ok {
		return
	}
	if s, isStr := v.(string); isStr {
		if w.spec && s == "" {
			w.fail(p, key, CodeFormat, "must not be empty")
		}
		return
	}
	if w.spec || !isLangMap(v, nil) {
		w.fail(p, key, CodeType, "must be a string, not %s", jsonType(v))
	}
}
