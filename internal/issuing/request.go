package issuing

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/learnerrecords/clr-operator/internal/framework"
)

// Experience kinds accepted by the issuing API, and the Open Badges
// achievementType each becomes. Kinds without an OB 3.0 term use the
// standard's "ext:" extension convention.
const (
	KindCourse               = "course"
	KindCoCurricular         = "co-curricular"
	KindInternship           = "internship"
	KindResearch             = "research"
	KindService              = "service"
	KindStudyAbroad          = "study-abroad"
	KindCompetencyAssessment = "competency-assessment"
)

var achievementTypes = map[string]string{
	KindCourse:               "Course",
	KindCoCurricular:         "CoCurricular",
	KindInternship:           "ext:Internship",
	KindResearch:             "ext:Research",
	KindService:              "CommunityService",
	KindStudyAbroad:          "ext:StudyAbroad",
	KindCompetencyAssessment: "Assessment",
}

// KindOrder is the order in which the evidence layer lists the kinds.
var KindOrder = []string{KindCourse, KindCompetencyAssessment, KindInternship, KindResearch, KindService, KindStudyAbroad, KindCoCurricular}

// KindTitle names a kind for people (the verification page's headings).
func KindTitle(kind string) string {
	switch kind {
	case KindCourse:
		return "Courses"
	case KindCoCurricular:
		return "Co-curricular activities"
	case KindInternship:
		return "Internships"
	case KindResearch:
		return "Research"
	case KindService:
		return "Service"
	case KindStudyAbroad:
		return "Study abroad and global education"
	case KindCompetencyAssessment:
		return "Competency assessments"
	}
	return "Other learning"
}

// KindOfAchievementType maps an achievementType back to a kind ("" if none).
func KindOfAchievementType(t string) string {
	for k, v := range achievementTypes {
		if v == t {
			return k
		}
	}
	return ""
}

// IssueRequest is one learner's learning posted for issuance: one line of a
// bulk NDJSON body, or the body of POST /issuing/v1/records.
type IssueRequest struct {
	// IdempotencyKey makes a retry safe: the same key (per client) never
	// issues twice. Required in bulk bodies; the Idempotency-Key header
	// plays this role for single requests.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// Issuer is the issuer's name; optional when the host has one issuer.
	Issuer string `json:"issuer,omitempty"`
	// Format is the proof format ("VC-JWT" or "DataIntegrity"), one of the
	// issuer's configured formats; default the first configured.
	Format      string       `json:"format,omitempty"`
	Learner     Learner      `json:"learner"`
	Experiences []Experience `json:"experiences"`
}

// Learner identifies the learner. ID is the learner's login identity on this
// host (the OpenID Connect username claim): the credentials are filed under
// it for the CLR API.
type Learner struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// DID, if the learner has one, becomes credentialSubject.id.
	DID string `json:"did,omitempty"`
}

// Experience is one learning experience: a course, a co-curricular or
// experiential activity, or a competency assessment.
type Experience struct {
	Kind        string `json:"kind"`
	Title       string `json:"title"`
	Code        string `json:"code,omitempty"`
	Description string `json:"description,omitempty"`
	Narrative   string `json:"narrative,omitempty"`
	// Course fields.
	Grade   string   `json:"grade,omitempty"`
	Credits *float64 `json:"credits,omitempty"`
	Term    string   `json:"term,omitempty"`
	// Activity fields.
	Organization string   `json:"organization,omitempty"`
	Location     string   `json:"location,omitempty"`
	Role         string   `json:"role,omitempty"`
	Hours        *float64 `json:"hours,omitempty"`
	// Dates: YYYY-MM-DD or RFC 3339.
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
	// Competencies shown by this experience, each at a level of a framework.
	// A competency-assessment has exactly one.
	Competencies []CompetencyClaim `json:"competencies,omitempty"`
	Evidence     []Evidence        `json:"evidence,omitempty"`
}

// CompetencyClaim is the assessment of one framework competency at a level.
type CompetencyClaim struct {
	Framework  string     `json:"framework"`
	Competency string     `json:"competency"`
	Level      string     `json:"level"`
	Narrative  string     `json:"narrative,omitempty"`
	Evidence   []Evidence `json:"evidence,omitempty"`
}

// Evidence is one piece of evidence: a narrative, a URL, an artefact.
type Evidence struct {
	URL         string `json:"url,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Narrative   string `json:"narrative,omitempty"`
	// Genre, e.g. "Artefact", "Portfolio", "Reflection", "Supervisor evaluation".
	Genre    string `json:"genre,omitempty"`
	Audience string `json:"audience,omitempty"`
}

// Limits on one request, so a single line cannot exhaust the server.
const (
	MaxExperiences = 200
	maxText        = 20000
	maxShort       = 500
)

// ErrInvalid marks request validation errors (answered 400/422).
var ErrInvalid = errors.New("invalid issuing request")

// fieldError builds an ErrInvalid naming the field.
func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// Validate checks the request against the frameworks; it names the first
// offending field. Nothing is stored for an invalid request.
func (r *IssueRequest) Validate(frameworks map[string]*framework.Layer) error {
	if err := checkText("learner.id", r.Learner.ID, maxShort, true); err != nil {
		return err
	}
	if strings.ContainsAny(r.Learner.ID, " \t\r\n") {
		return fieldError("learner.id", "must not contain white space")
	}
	if err := checkText("learner.name", r.Learner.Name, maxShort, false); err != nil {
		return err
	}
	if err := checkText("learner.email", r.Learner.Email, maxShort, false); err != nil {
		return err
	}
	if r.Learner.DID != "" && !strings.HasPrefix(r.Learner.DID, "did:") {
		return fieldError("learner.did", "%q is not a DID", r.Learner.DID)
	}
	if len(r.Experiences) == 0 {
		return fieldError("experiences", "at least one experience is required")
	}
	if len(r.Experiences) > MaxExperiences {
		return fieldError("experiences", "at most %d per request", MaxExperiences)
	}
	for i := range r.Experiences {
		if err := r.Experiences[i].validate(fmt.Sprintf("experiences[%d]", i), frameworks); err != nil {
			return err
		}
	}
	return nil
}

func (e *Experience) validate(path string, frameworks map[string]*framework.Layer) error {
	if _, ok := achievementTypes[e.Kind]; !ok {
		return fieldError(path+".kind", "%q is not one of course, co-curricular, internship, research, service, study-abroad, competency-assessment", e.Kind)
	}
	if e.Kind == KindCompetencyAssessment {
		if len(e.Competencies) != 1 {
			return fieldError(path+".competencies", "a competency-assessment assesses exactly one competency")
		}
		if e.Title == "" {
			// The competency's name makes a fine title; filled in at build time.
			if l, ok := frameworks[e.Competencies[0].Framework]; ok {
				if c, ok := l.Competency(e.Competencies[0].Competency); ok {
					e.Title = "Assessment: " + c.Name
				}
			}
		}
	}
	for name, v := range map[string]string{"title": e.Title} {
		if err := checkText(path+"."+name, v, maxShort, true); err != nil {
			return err
		}
	}
	for name, v := range map[string]string{"code": e.Code, "grade": e.Grade, "term": e.Term, "organization": e.Organization, "location": e.Location, "role": e.Role} {
		if err := checkText(path+"."+name, v, maxShort, false); err != nil {
			return err
		}
	}
	for name, v := range map[string]string{"description": e.Description, "narrative": e.Narrative} {
		if err := checkText(path+"."+name, v, maxText, false); err != nil {
			return err
		}
	}
	if e.Credits != nil && (math.IsNaN(*e.Credits) || *e.Credits < 0 || *e.Credits > 1000) {
		return fieldError(path+".credits", "must be between 0 and 1000")
	}
	if e.Hours != nil && (math.IsNaN(*e.Hours) || *e.Hours < 0 || *e.Hours > 100000) {
		return fieldError(path+".hours", "must be between 0 and 100000")
	}
	start, err := parseDate(path+".startDate", e.StartDate)
	if err != nil {
		return err
	}
	end, err := parseDate(path+".endDate", e.EndDate)
	if err != nil {
		return err
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return fieldError(path+".endDate", "is before startDate")
	}
	seen := map[string]bool{}
	for j, c := range e.Competencies {
		cp := fmt.Sprintf("%s.competencies[%d]", path, j)
		l, ok := frameworks[c.Framework]
		if !ok {
			return fieldError(cp+".framework", "unknown framework %q", c.Framework)
		}
		if c.Level == "" {
			return fieldError(cp+".level", "is required")
		}
		if err := l.Check(c.Competency, c.Level); err != nil {
			return fieldError(cp, "%v", err)
		}
		k := c.Framework + "\x00" + c.Competency
		if seen[k] {
			return fieldError(cp, "competency %s/%s is listed twice", c.Framework, c.Competency)
		}
		seen[k] = true
		if err := checkText(cp+".narrative", c.Narrative, maxText, false); err != nil {
			return err
		}
		for k, ev := range c.Evidence {
			if err := ev.validate(fmt.Sprintf("%s.evidence[%d]", cp, k)); err != nil {
				return err
			}
		}
	}
	for k, ev := range e.Evidence {
		if err := ev.validate(fmt.Sprintf("%s.evidence[%d]", path, k)); err != nil {
			return err
		}
	}
	return nil
}

func (ev Evidence) validate(path string) error {
	if ev.URL == "" && ev.Narrative == "" && ev.Name == "" {
		return fieldError(path, "needs at least a url, a name or a narrative")
	}
	if ev.URL != "" {
		u, err := url.Parse(ev.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fieldError(path+".url", "%q is not an absolute http(s) URL", ev.URL)
		}
	}
	for name, v := range map[string]string{"name": ev.Name, "genre": ev.Genre, "audience": ev.Audience} {
		if err := checkText(path+"."+name, v, maxShort, false); err != nil {
			return err
		}
	}
	for name, v := range map[string]string{"description": ev.Description, "narrative": ev.Narrative, "url": ev.URL} {
		if err := checkText(path+"."+name, v, maxText, false); err != nil {
			return err
		}
	}
	return nil
}

func checkText(field, v string, max int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return fieldError(field, "is required")
	}
	if !utf8.ValidString(v) {
		return fieldError(field, "is not valid UTF-8")
	}
	if len(v) > max {
		return fieldError(field, "longer than %d bytes", max)
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' {
			return fieldError(field, "contains control characters")
		}
	}
	return nil
}

// parseDate accepts YYYY-MM-DD or RFC 3339.
func parseDate(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fieldError(field, "%q is not a date (YYYY-MM-DD or RFC 3339)", v)
}

// dateTime renders a validated date as the OB 3.0 DateTime.
func dateTime(v string) string {
	t, err := parseDate("", v)
	if err != nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
