package publicsite

import (
	"fmt"
	"sort"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/credential/verify"
	"github.com/learnerrecords/clr-operator/internal/framework"
	"github.com/learnerrecords/clr-operator/internal/issuing"
)

// pageView is everything the verification page shows.
type pageView struct {
	Title   string
	Message string // when there is no credential to show
	Status  int

	Name     string
	Kind     string // "Comprehensive Learner Record" or "Achievement"
	ID       string
	Issuer   string
	IssuerID string
	// Authorities are the accreditations and legal authority of the
	// issuer, when it is one of this host's issuers.
	Authorities []authorityView
	Learner     string
	IssuedOn    string
	Expires     string
	Partial     bool
	Verdict     verdictView
	Layers      []layerView
	Groups      []groupView
	CheckedAt   string
}

type authorityView struct {
	Name        string
	URL         string
	Identifier  string
	Description string
}

type verdictView struct {
	OK       bool
	Headline string
	Rows     []checkRow
}

type checkRow struct {
	Name   string
	OK     bool
	Result string
	Detail string
}

type layerView struct {
	Title        string
	Levels       []string
	Competencies []competencyView
}

type competencyView struct {
	Name   string
	Code   string
	Level  string // highest level shown, "Not yet shown" if none
	Rank   int    // 1-based rank of Level, 0 if none
	Of     int
	Pct    int
	Counts []framework.LevelCount
	Total  int
	Indent bool
}

type groupView struct {
	Kind  string
	Title string
	Items []itemView
}

type itemView struct {
	Title        string
	Code         string
	Grade        string
	Credits      string
	Term         string
	Dates        string
	Organization string
	Hours        string
	Narrative    string
	Competencies []string
	Evidence     []evidenceView
	Verified     bool
	Note         string
}

type evidenceView struct {
	Name      string
	URL       string
	Narrative string
	Genre     string
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func obj(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func list(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case nil:
		return nil
	default:
		return []any{t}
	}
}

func hasType(m map[string]any, t string) bool {
	for _, x := range list(m["type"]) {
		if x == t {
			return true
		}
	}
	return false
}

func day(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

func num(v any) string {
	switch t := v.(type) {
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprint(int64(t))
		}
		return fmt.Sprint(t)
	case string:
		return t
	}
	return ""
}

// learnerName is the subject's name identity, if the credential carries one.
func learnerName(subj map[string]any) string {
	for _, x := range list(subj["identifier"]) {
		m, _ := x.(map[string]any)
		if str(m, "identityType") == "name" && m["hashed"] == false {
			return str(m, "identityHash")
		}
	}
	return ""
}

// buildView renders a verified credential for people.
func (s *Site) buildView(cred map[string]any, rep *verify.Report, revocationReason string) pageView {
	v := pageView{Name: str(cred, "name"), ID: str(cred, "id"), IssuedOn: day(str(cred, "validFrom")), Status: 200}
	if v.Name == "" {
		v.Name = "Credential"
	}
	v.Title = v.Name
	iss := obj(cred, "issuer")
	v.Issuer, v.IssuerID = str(iss, "name"), str(iss, "id")
	if v.IssuerID == "" {
		v.IssuerID = str(cred, "issuer")
	}
	v.Authorities = s.authorities(v.IssuerID)
	if e := str(cred, "validUntil"); e != "" {
		v.Expires = day(e)
	}
	subj := obj(cred, "credentialSubject")
	v.Learner = learnerName(subj)
	v.Partial = cred["partial"] == true
	v.Verdict = verdictOf(rep, revocationReason)
	v.CheckedAt = rep.VerifiedAt

	nestedOK := map[int]bool{}
	for _, c := range rep.Credentials {
		var i int
		if _, err := fmt.Sscanf(c.Path, "credentialSubject.verifiableCredential[%d]", &i); err == nil && !strings.Contains(strings.TrimPrefix(c.Path, fmt.Sprintf("credentialSubject.verifiableCredential[%d]", i)), ".") {
			nestedOK[i] = c.Verified
		}
	}
	var experiences []map[string]any
	var verified []bool
	var summaries []map[string]any
	if hasType(cred, "ClrCredential") {
		v.Kind = "Comprehensive Learner Record"
		for i, x := range list(subj["verifiableCredential"]) {
			m, ok := x.(map[string]any)
			if jws, isJWS := x.(string); isJWS {
				var err error
				if m, err = issuing.JWSPayloadCredential(jws); err != nil {
					continue
				}
				ok = true
			}
			if !ok {
				continue
			}
			ach := obj(obj(m, "credentialSubject"), "achievement")
			if str(ach, "achievementType") == "ext:LearningFramework" {
				summaries = append(summaries, m)
				continue
			}
			experiences = append(experiences, m)
			verified = append(verified, nestedOK[i])
		}
	} else {
		v.Kind = "Achievement"
		ach := obj(subj, "achievement")
		if str(ach, "achievementType") == "ext:LearningFramework" {
			summaries = append(summaries, cred)
		} else {
			experiences = append(experiences, cred)
			verified = append(verified, v.Verdict.OK)
		}
	}
	v.Layers = s.layers(summaries, experiences)
	v.Groups = s.groups(experiences, verified)
	return v
}

func verdictOf(rep *verify.Report, reason string) verdictView {
	var top *verify.CredentialReport
	for _, c := range rep.Credentials {
		if c.Path == "" {
			top = c
			break
		}
	}
	vv := verdictView{OK: rep.Verified}
	if top == nil {
		vv.Headline = "This credential could not be read."
		return vv
	}
	sig := checkRow{Name: "Signature", OK: true, Result: "Valid", Detail: "signed by the issuer's key, content unchanged"}
	status := checkRow{Name: "Status", OK: true, Result: "Active", Detail: "not revoked or suspended by the issuer"}
	expiry := checkRow{Name: "Validity period", OK: true, Result: "Current", Detail: "within its validity period"}
	var other []string
	for _, ch := range top.Checks {
		if ch.Status != verify.Fail && ch.Status != verify.Warn {
			continue
		}
		switch ch.Check {
		case verify.CheckProof, verify.CheckBinding, verify.CheckClaims:
			if ch.Status == verify.Fail {
				sig.OK, sig.Result, sig.Detail = false, "Not valid", ch.Message
			}
		case verify.CheckStatus:
			status.OK = false
			switch ch.Code {
			case verify.CodeRevoked:
				status.Result = "Revoked"
			case verify.CodeSuspended:
				status.Result = "Suspended"
			default:
				status.Result = "Unknown"
			}
			status.Detail = ch.Message
			if reason != "" && (ch.Code == verify.CodeRevoked || ch.Code == verify.CodeSuspended) {
				status.Detail = "reason given by the issuer: " + reason
			}
		case verify.CheckValidity:
			if ch.Status == verify.Fail {
				expiry.OK = false
				switch ch.Code {
				case verify.CodeExpired:
					expiry.Result = "Expired"
				case verify.CodeNotYetValid:
					expiry.Result = "Not yet valid"
				default:
					expiry.Result = "Invalid dates"
				}
				expiry.Detail = ch.Message
			}
		default:
			if ch.Status == verify.Fail {
				other = append(other, ch.Message)
			}
		}
	}
	vv.Rows = []checkRow{sig, status, expiry}
	if len(other) > 0 {
		vv.Rows = append(vv.Rows, checkRow{Name: "Structure", OK: false, Result: "Problems found", Detail: strings.Join(other, "; ")})
	}
	switch {
	case !status.OK && status.Result == "Revoked":
		vv.Headline = "Revoked: the issuer has revoked this credential."
	case !status.OK && status.Result == "Suspended":
		vv.Headline = "Suspended: the issuer has suspended this credential."
	case !sig.OK:
		vv.Headline = "Not verified: the signature is not valid."
	case !expiry.OK:
		vv.Headline = "Not valid now: " + strings.ToLower(expiry.Result) + "."
	case rep.Verified:
		vv.Headline = "Verified: issued by " + top.Issuer + ", unchanged, and in good standing."
	default:
		vv.Headline = "Not verified: see the checks below."
	}
	return vv
}

// layers builds the framework layer: from the framework-summary credentials
// when present (what the issuer signed), otherwise from the experiences'
// level results.
func (s *Site) layers(summaries, experiences []map[string]any) []layerView {
	var out []layerView
	seen := map[string]bool{}
	for _, sc := range summaries {
		subj := obj(sc, "credentialSubject")
		ach := obj(subj, "achievement")
		for _, l := range s.host.Frameworks {
			if l.URL() != str(ach, "id") {
				continue
			}
			sum, err := l.ParseSummaryResults(list(subj["result"]))
			if err == nil {
				out = append(out, layerOf(l, sum))
				seen[l.Name()] = true
			}
		}
	}
	names := make([]string, 0, len(s.host.Frameworks))
	for n := range s.host.Frameworks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if seen[n] {
			continue
		}
		l := s.host.Frameworks[n]
		var as []framework.Assessment
		for _, e := range experiences {
			for _, r := range list(obj(e, "credentialSubject")["result"]) {
				m, _ := r.(map[string]any)
				rd, lvl := str(m, "resultDescription"), str(m, "achievedLevel")
				if lvl == "" {
					continue
				}
				for _, c := range l.Framework().Competencies {
					if rd == l.LevelRubricID(c.ID) {
						if id, ok := strings.CutPrefix(lvl, l.URL()+"/levels/"); ok {
							as = append(as, framework.Assessment{Competency: c.ID, Level: id})
						}
					}
				}
			}
		}
		if len(as) == 0 {
			continue
		}
		if sum, err := l.Summarize(as); err == nil {
			out = append(out, layerOf(l, sum))
		}
	}
	return out
}

func layerOf(l *framework.Layer, sum framework.Summary) layerView {
	lv := layerView{Title: sum.Title}
	for _, x := range l.Levels() {
		lv.Levels = append(lv.Levels, x.Name)
	}
	n := len(lv.Levels)
	for _, c := range sum.Competencies {
		cv := competencyView{Name: c.Name, Code: c.HumanCode, Of: n, Counts: c.Counts, Total: c.Total, Level: "Not yet shown", Indent: c.Parent != ""}
		if c.Highest >= 0 {
			cv.Rank = c.Highest + 1
			cv.Level = c.Counts[c.Highest].Name
			cv.Pct = cv.Rank * 100 / n
		}
		lv.Competencies = append(lv.Competencies, cv)
	}
	return lv
}

// groups lays out the evidence layer by kind of experience.
func (s *Site) groups(experiences []map[string]any, verified []bool) []groupView {
	byKind := map[string][]itemView{}
	for i, e := range experiences {
		subj := obj(e, "credentialSubject")
		ach := obj(subj, "achievement")
		kind := ""
		for _, t := range list(ach["tag"]) {
			if ts, ok := t.(string); ok && issuing.KindTitle(ts) != "Other learning" {
				kind = ts
				break
			}
		}
		if kind == "" {
			kind = issuing.KindOfAchievementType(str(ach, "achievementType"))
		}
		it := itemView{Title: str(ach, "name"), Code: str(ach, "humanCode"), Term: str(subj, "term"), Narrative: str(subj, "narrative"), Verified: verified[i]}
		if it.Title == "" {
			it.Title = str(e, "name")
		}
		it.Credits = num(subj["creditsEarned"])
		if it.Credits == "" {
			it.Credits = num(ach["creditsAvailable"])
		}
		if a, b := day(str(subj, "activityStartDate")), day(str(subj, "activityEndDate")); a != "" || b != "" {
			it.Dates = strings.Trim(a+" – "+b, " –")
		}
		it.Organization = str(obj(subj, "source"), "name")
		for _, r := range list(subj["result"]) {
			m, _ := r.(map[string]any)
			rd := str(m, "resultDescription")
			switch {
			case strings.HasSuffix(rd, "#grade"):
				it.Grade = str(m, "value")
			case strings.HasSuffix(rd, "#hours"):
				it.Hours = str(m, "value")
			case str(m, "achievedLevel") != "":
				it.Competencies = append(it.Competencies, s.levelLabel(rd, str(m, "achievedLevel")))
			}
		}
		for _, x := range list(e["evidence"]) {
			m, _ := x.(map[string]any)
			ev := evidenceView{Name: str(m, "name"), URL: str(m, "id"), Narrative: str(m, "narrative"), Genre: str(m, "genre")}
			if ev.URL != "" && !strings.HasPrefix(ev.URL, "https://") && !strings.HasPrefix(ev.URL, "http://") {
				ev.URL = "" // only web links become links
			}
			it.Evidence = append(it.Evidence, ev)
		}
		if !it.Verified {
			it.Note = "This record did not verify on its own (see the checks above)."
		}
		byKind[kind] = append(byKind[kind], it)
	}
	var out []groupView
	for _, k := range issuing.KindOrder {
		if items := byKind[k]; len(items) > 0 {
			out = append(out, groupView{Kind: k, Title: issuing.KindTitle(k), Items: items})
			delete(byKind, k)
		}
	}
	if items := byKind[""]; len(items) > 0 {
		out = append(out, groupView{Kind: "other", Title: issuing.KindTitle(""), Items: items})
	}
	return out
}

// levelLabel names a level result: "Critical Thinking: Integration".
func (s *Site) levelLabel(rd, level string) string {
	for _, l := range s.host.Frameworks {
		for _, c := range l.Framework().Competencies {
			if rd == l.LevelRubricID(c.ID) {
				for _, lv := range l.Framework().Levels {
					if l.LevelURL(lv.ID) == level {
						return c.Name + ": " + lv.Name
					}
				}
			}
		}
	}
	return level
}

// authorities are the accreditations and legal authority of the issuer with
// this id, as this host is configured to publish them; none when the issuer
// is not one of this host's (the page vouches only for its own issuers).
func (s *Site) authorities(issuerID string) []authorityView {
	if issuerID == "" {
		return nil
	}
	for _, iss := range s.host.Issuers {
		if iss.DID != issuerID {
			continue
		}
		out := make([]authorityView, 0, len(iss.Authority))
		for _, a := range iss.Authority {
			out = append(out, authorityView{Name: a.Name, URL: a.URL, Identifier: a.Identifier, Description: a.Description})
		}
		return out
	}
	return nil
}
