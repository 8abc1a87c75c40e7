package issuing

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/model"
	"github.com/learnerrecords/clr-operator/internal/framework"
	"github.com/learnerrecords/clr-operator/internal/issuing/proof"
)

// Contexts of the credentials this host issues.
var (
	achievementContexts = []any{model.ContextVC2, model.ContextOB3, model.ContextOBExtensions}
	clrContexts         = []any{model.ContextVC2, model.ContextCLR2, model.ContextOB3, model.ContextOBExtensions}
)

// NewUUID returns a time-ordered (version 7, RFC 9562) UUID: the Unix time
// in milliseconds, then 74 random bits.
//
// Why not random (version 4): credential and learning record ids are keys
// of database indexes, and random keys land each insert on a different
// index page, which SQLite then writes out whole (to the WAL and again at
// checkpoint). Time-ordered ids append to the same few pages: bulk issuance
// wrote 53 → 29 KB to disk per credential and ran ~30 % faster
// (docs/benchmarks.md). The ids stay unguessable (74 random bits, ~10²²
// per millisecond); what the timestamp tells, the issuance date of the
// credential, the credential states itself.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	ms := uint64(time.Now().UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// nameUUID is a name-based (version 5 style) UUID: stable ids for things
// identified only by a name, such as a host organisation.
func nameUUID(space, name string) string {
	h := sha1.Sum([]byte(space + "\x00" + name))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// creatorRef is the short Profile reference used as achievement creator.
func creatorRef(iss *proof.Issuer) map[string]any {
	p := map[string]any{"id": iss.DID, "type": []any{model.TypeProfile}}
	if n, ok := iss.Profile["name"]; ok {
		p["name"] = n
	} else {
		p["name"] = iss.Name
	}
	return p
}

// URLs of this host's documents.
type URLs struct{ Base string }

// Credential is the resolvable id of a credential.
func (u URLs) Credential(id string) string { return u.Base + "/credentials/" + id }

// Achievement is the resolvable id of an experience achievement.
func (u URLs) Achievement(id string) string { return u.Base + "/achievements/" + id }

// subjectIdentity fills the subject's id (the learner's DID, if any) and
// identifiers: the learner's name in clear (it is a transcript) and the
// host's learner id salted and hashed, as OB 3.0 IdentityObjects.
func subjectIdentity(subj map[string]any, l Learner, salt string) {
	if l.DID != "" {
		subj["id"] = l.DID
	}
	var ids []any
	if l.Name != "" {
		ids = append(ids, map[string]any{"type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": l.Name})
	}
	if l.Email != "" {
		ids = append(ids, map[string]any{"type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
			"identityHash": identityHash(strings.ToLower(l.Email), salt), "salt": salt})
	}
	ids = append(ids, map[string]any{"type": "IdentityObject", "identityType": "sourcedId", "hashed": true,
		"identityHash": identityHash(l.ID, salt), "salt": salt})
	subj["identifier"] = ids
}

// identityHash is the OB 3.0 "sha256$<hex>" of value+salt.
func identityHash(value, salt string) string {
	h := sha256.Sum256([]byte(value + salt))
	return "sha256$" + hex.EncodeToString(h[:])
}

// builder assembles unsigned credentials.
type builder struct {
	urls       URLs
	frameworks map[string]*framework.Layer
}

// experienceCredential is one experience as a complete AchievementCredential:
// achievement (with alignments to the competencies it shows and the result
// descriptions of its grade, hours and levels), results, evidence and status.
func (b *builder) experienceCredential(iss *proof.Issuer, credID string, learner Learner, e *Experience, status any, now time.Time) map[string]any {
	achURL := b.urls.Achievement(credID)
	desc := e.Description
	if desc == "" {
		desc = e.Narrative
	}
	if desc == "" {
		desc = e.Title
	}
	criteria := "Completed " + e.Title
	switch e.Kind {
	case KindCourse:
		criteria = "Completed the course " + strings.TrimSpace(e.Code+" "+e.Title) + " with the grade recorded."
	case KindCompetencyAssessment:
		criteria = "Assessed against the levels of the institution's learning framework."
	default:
		if e.Organization != "" {
			criteria += " with " + e.Organization
		}
		criteria += "."
	}
	ach := map[string]any{
		"id":              achURL,
		"type":            []any{model.TypeAchievement},
		"achievementType": achievementTypes[e.Kind],
		"name":            e.Title,
		"description":     desc,
		"criteria":        map[string]any{"narrative": criteria},
		"creator":         creatorRef(iss),
		"tag":             []any{e.Kind},
	}
	if e.Code != "" {
		ach["humanCode"] = e.Code
	}
	if e.Credits != nil {
		ach["creditsAvailable"] = *e.Credits
	}
	subj := map[string]any{"type": []any{model.TypeAchievementSubject}}
	subjectIdentity(subj, learner, nameUUID("salt", credID)[:8])

	var rds, results, alignments []any
	if e.Grade != "" {
		rds = append(rds, map[string]any{"id": achURL + "#grade", "type": []any{model.TypeResultDescription}, "name": "Grade", "resultType": "LetterGrade"})
		results = append(results, map[string]any{"type": []any{model.TypeResult}, "resultDescription": achURL + "#grade", "value": e.Grade})
	}
	if e.Hours != nil {
		rds = append(rds, map[string]any{"id": achURL + "#hours", "type": []any{model.TypeResultDescription}, "name": "Hours", "resultType": "RawScore", "valueMin": "0"})
		results = append(results, map[string]any{"type": []any{model.TypeResult}, "resultDescription": achURL + "#hours", "value": formatNumber(*e.Hours)})
	}
	for _, c := range e.Competencies {
		l := b.frameworks[c.Framework]
		alignments = append(alignments, l.Alignment(c.Competency))
		rds = append(rds, l.LevelRubric(c.Competency))
		results = append(results, map[string]any{
			"type":              []any{model.TypeResult},
			"resultDescription": l.LevelRubricID(c.Competency),
			"achievedLevel":     l.LevelURL(c.Level),
			"alignment":         []any{l.Alignment(c.Competency)},
		})
	}
	if len(alignments) > 0 {
		ach["alignment"] = alignments
	}
	if len(rds) > 0 {
		ach["resultDescription"] = rds
	}
	subj["achievement"] = ach
	if len(results) > 0 {
		subj["result"] = results
	}
	if e.Credits != nil && e.Kind == KindCourse {
		subj["creditsEarned"] = *e.Credits
	}
	if e.Term != "" {
		subj["term"] = e.Term
	}
	if s := dateTime(e.StartDate); s != "" {
		subj["activityStartDate"] = s
	}
	if s := dateTime(e.EndDate); s != "" {
		subj["activityEndDate"] = s
	}
	if e.Narrative != "" {
		subj["narrative"] = e.Narrative
	}
	if e.Role != "" {
		subj["role"] = e.Role
	}
	if e.Organization != "" {
		// The host organisation of an internship, research placement or
		// service: it assessed the learner on the issuer's behalf.
		src := map[string]any{"id": "urn:uuid:" + nameUUID("organization", e.Organization), "type": []any{model.TypeProfile}, "name": e.Organization}
		if e.Location != "" {
			src["address"] = map[string]any{"type": []any{"Address"}, "addressLocality": e.Location}
		}
		subj["source"] = src
	}

	cred := map[string]any{
		"@context":          achievementContexts,
		"id":                b.urls.Credential(credID),
		"type":              []any{model.TypeVerifiableCredential, model.TypeAchievementCredential},
		"name":              e.Title,
		"issuer":            iss.ProfileDocument(),
		"validFrom":         model.FormatTime(now),
		"awardedDate":       model.FormatTime(now),
		"credentialSubject": subj,
		"credentialStatus":  status,
		"credentialSchema":  []any{map[string]any{"id": model.SchemaAchievementCredential, "type": model.TypeJSONSchemaValidator}},
	}
	if ev := evidenceList(e); len(ev) > 0 {
		cred["evidence"] = ev
	}
	return cred
}

func evidenceList(e *Experience) []any {
	var out []any
	add := func(ev Evidence, defaultName string) {
		m := map[string]any{"type": []any{model.TypeEvidence}}
		if ev.URL != "" {
			m["id"] = ev.URL
		}
		name := ev.Name
		if name == "" {
			name = defaultName
		}
		if name != "" {
			m["name"] = name
		}
		for k, v := range map[string]string{"description": ev.Description, "narrative": ev.Narrative, "genre": ev.Genre, "audience": ev.Audience} {
			if v != "" {
				m[k] = v
			}
		}
		out = append(out, m)
	}
	for _, ev := range e.Evidence {
		add(ev, "")
	}
	for _, c := range e.Competencies {
		label := "Evidence of " + c.Competency
		if c.Narrative != "" {
			add(Evidence{Narrative: c.Narrative, Genre: "Assessment narrative"}, "Assessment of "+c.Competency)
		}
		for _, ev := range c.Evidence {
			add(ev, label)
		}
	}
	return out
}

func formatNumber(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprint(f)
}

// frameworkPart is what one framework contributes to a CLR.
type frameworkPart struct {
	layer       *framework.Layer
	assessments []framework.Assessment
}

// summaryCredential is the framework-summary AchievementCredential of a CLR:
// the framework as achievement, and per competency the level reached and the
// evidence count at each level as Results.
func (b *builder) summaryCredential(iss *proof.Issuer, credID string, learner Learner, part frameworkPart, status any, now time.Time) (map[string]any, error) {
	sum, err := part.layer.Summarize(part.assessments)
	if err != nil {
		return nil, err
	}
	subj := map[string]any{
		"type":        []any{model.TypeAchievementSubject},
		"achievement": part.layer.SummaryAchievement(creatorRef(iss)),
		"result":      part.layer.SummaryResults(sum),
	}
	subjectIdentity(subj, learner, nameUUID("salt", credID)[:8])
	return map[string]any{
		"@context":          achievementContexts,
		"id":                b.urls.Credential(credID),
		"type":              []any{model.TypeVerifiableCredential, model.TypeAchievementCredential},
		"name":              part.layer.Framework().Title + " — summary",
		"description":       "Framework layer: the learner's competencies along " + part.layer.Framework().Title + ", with the number of pieces of evidence at each level.",
		"issuer":            iss.ProfileDocument(),
		"validFrom":         model.FormatTime(now),
		"awardedDate":       model.FormatTime(now),
		"credentialSubject": subj,
		"credentialStatus":  status,
		"credentialSchema":  []any{map[string]any{"id": model.SchemaAchievementCredential, "type": model.TypeJSONSchemaValidator}},
	}, nil
}

// clrCredential assembles the learner's ClrCredential: the experience
// credentials (evidence layer), the framework summary credentials and the
// frameworks' competencies as achievements (framework layer), and the
// associations between them.
func (b *builder) clrCredential(iss *proof.Issuer, credID string, learner Learner, embedded []any, parts []frameworkPart, assessmentAchievements map[string]bool, partial bool, status any, now time.Time) map[string]any {
	subj := map[string]any{"type": []any{model.TypeClrSubject}, "verifiableCredential": embedded}
	subjectIdentity(subj, learner, nameUUID("salt", credID)[:8])
	var achievements, associations []any
	sort.Slice(parts, func(i, j int) bool { return parts[i].layer.Name() < parts[j].layer.Name() })
	for _, p := range parts {
		achievements = append(achievements, p.layer.Achievements(creatorRef(iss))...)
		associations = append(associations, p.layer.TreeAssociations()...)
		associations = append(associations, p.layer.EvidenceAssociations(p.assessments, assessmentAchievements)...)
	}
	if len(achievements) > 0 {
		subj["achievement"] = achievements
	}
	if len(associations) > 0 {
		subj["association"] = associations
	}
	name := "Comprehensive Learner Record"
	if learner.Name != "" {
		name += " of " + learner.Name
	}
	cred := map[string]any{
		"@context":          clrContexts,
		"id":                b.urls.Credential(credID),
		"type":              []any{model.TypeVerifiableCredential, model.TypeClrCredential},
		"name":              name,
		"issuer":            iss.ProfileDocument(),
		"validFrom":         model.FormatTime(now),
		"awardedDate":       model.FormatTime(now),
		"credentialSubject": subj,
		"credentialStatus":  status,
		"credentialSchema":  []any{map[string]any{"id": model.SchemaClrCredential, "type": model.TypeJSONSchemaValidator}},
	}
	if partial {
		// CLR 2.0 puts "partial" on the ClrCredential (schema and JSON-LD
		// context both define it there, not on ClrSubject).
		cred["partial"] = true
	}
	return cred
}
