package framework

import (
	"fmt"
	"sort"
)

// Assessment says that one piece of evidence (an experience's Achievement)
// shows a competency at a level.
type Assessment struct {
	Competency string `json:"competency"`
	Level      string `json:"level"`
	// EvidenceAchievement is the id of the experience Achievement assessed.
	EvidenceAchievement string `json:"evidenceAchievement,omitempty"`
}

// Summary is the framework layer of one learner's record: for each
// competency, how many pieces of evidence show it at each level.
type Summary struct {
	Framework    string              `json:"framework"`
	Title        string              `json:"title"`
	Competencies []CompetencySummary `json:"competencies"`
}

// CompetencySummary is one competency's counts by level.
type CompetencySummary struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	HumanCode string       `json:"humanCode,omitempty"`
	Parent    string       `json:"parent,omitempty"`
	Counts    []LevelCount `json:"counts"`
	// Total is the number of assessments of this competency.
	Total int `json:"total"`
	// Highest is the rank of the highest level shown (0-based), -1 if none.
	Highest int `json:"highest"`
	// HighestLevel is the id of the highest level shown, empty if none.
	HighestLevel string `json:"highestLevel,omitempty"`
}

// LevelCount is the number of assessments at one level.
type LevelCount struct {
	Level string `json:"level"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Summarize counts the assessments per competency and level. Every
// competency of the framework appears, in framework order, so that a reader
// sees the competencies not (yet) shown too. Unknown competencies or levels
// are an error: the issuing API checks them before anything is stored.
func (l *Layer) Summarize(assessments []Assessment) (Summary, error) {
	s := Summary{Framework: l.fw.Name, Title: l.fw.Title}
	s.Competencies = make([]CompetencySummary, len(l.fw.Competencies))
	for i, c := range l.fw.Competencies {
		cs := CompetencySummary{ID: c.ID, Name: c.Name, HumanCode: c.HumanCode, Parent: c.Parent, Highest: -1}
		cs.Counts = make([]LevelCount, len(l.fw.Levels))
		for j, lv := range l.fw.Levels {
			cs.Counts[j] = LevelCount{Level: lv.ID, Name: lv.Name}
		}
		s.Competencies[i] = cs
	}
	for _, a := range assessments {
		if err := l.Check(a.Competency, a.Level); err != nil {
			return Summary{}, err
		}
		if a.Level == "" {
			return Summary{}, fmt.Errorf("framework %s: assessment of %q has no level", l.fw.Name, a.Competency)
		}
		cs := &s.Competencies[l.compIndex[a.Competency]]
		rank := l.levelIndex[a.Level]
		cs.Counts[rank].Count++
		cs.Total++
		if rank > cs.Highest {
			cs.Highest = rank
			cs.HighestLevel = a.Level
		}
	}
	return s, nil
}

// Levels are the framework levels, lowest first.
func (l *Layer) Levels() []LevelCount {
	out := make([]LevelCount, len(l.fw.Levels))
	for i, lv := range l.fw.Levels {
		out[i] = LevelCount{Level: lv.ID, Name: lv.Name}
	}
	return out
}

// SummaryAchievement is the framework itself as an Achievement
// (achievementType "ext:LearningFramework"): the achievement of the
// framework-summary credential. Its ResultDescriptions are, per competency,
// the level rubric and one RawScore per level ("pieces of evidence at this
// level"), so that the summary is carried by standard Results.
func (l *Layer) SummaryAchievement(creator map[string]any) map[string]any {
	desc := l.fw.Description
	if desc == "" {
		desc = "Summary of the learner's record along " + l.fw.Title + "."
	}
	rds := make([]any, 0, len(l.fw.Competencies)*(1+len(l.fw.Levels)))
	for _, c := range l.fw.Competencies {
		rds = append(rds, l.LevelRubric(c.ID))
		for _, lv := range l.fw.Levels {
			rds = append(rds, map[string]any{
				"id":         l.LevelCountID(c.ID, lv.ID),
				"type":       []any{"ResultDescription"},
				"name":       c.Name + " — evidence at level " + lv.Name,
				"resultType": "RawScore",
				"valueMin":   "0",
				"alignment":  []any{l.Alignment(c.ID)},
			})
		}
	}
	a := map[string]any{
		"id":                l.URL(),
		"type":              []any{"Achievement"},
		"achievementType":   "ext:LearningFramework",
		"name":              l.fw.Title,
		"description":       desc,
		"criteria":          map[string]any{"narrative": "Each competency's level is the highest level shown by the assessed evidence; the counts give the number of pieces of evidence at each level."},
		"resultDescription": rds,
	}
	if l.fw.Version != "" {
		a["version"] = l.fw.Version
	}
	if l.fw.URL != "" {
		a["related"] = []any{map[string]any{"id": l.fw.URL, "type": []any{"Related"}}}
	}
	if creator != nil {
		a["creator"] = creator
	}
	return a
}

// SummaryResults are the Results of a framework-summary credential: per
// competency shown, the highest level reached (achievedLevel) and the count
// of evidence at each level.
func (l *Layer) SummaryResults(s Summary) []any {
	var out []any
	for _, cs := range s.Competencies {
		if cs.Total == 0 {
			continue
		}
		out = append(out, map[string]any{
			"type":              []any{"Result"},
			"resultDescription": l.LevelRubricID(cs.ID),
			"achievedLevel":     l.LevelURL(cs.HighestLevel),
			"alignment":         []any{l.Alignment(cs.ID)},
		})
		for _, lc := range cs.Counts {
			out = append(out, map[string]any{
				"type":              []any{"Result"},
				"resultDescription": l.LevelCountID(cs.ID, lc.Level),
				"value":             fmt.Sprint(lc.Count),
			})
		}
	}
	return out
}

// ParseSummaryResults rebuilds a Summary from the Results of a
// framework-summary credential (the inverse of SummaryResults), for readers
// such as the verification page that only have the signed credential.
func (l *Layer) ParseSummaryResults(results []any) (Summary, error) {
	s, _ := l.Summarize(nil)
	byCountID := map[string][2]int{}
	for i, c := range l.fw.Competencies {
		for j, lv := range l.fw.Levels {
			byCountID[l.LevelCountID(c.ID, lv.ID)] = [2]int{i, j}
		}
	}
	for _, r := range results {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		rd, _ := m["resultDescription"].(string)
		pos, ok := byCountID[rd]
		if !ok {
			continue
		}
		v, _ := m["value"].(string)
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || n < 0 {
			return Summary{}, fmt.Errorf("framework %s: result %s: count %q is not a non-negative integer", l.fw.Name, rd, v)
		}
		cs := &s.Competencies[pos[0]]
		cs.Counts[pos[1]].Count = n
		cs.Total += n
		if n > 0 && pos[1] > cs.Highest {
			cs.Highest = pos[1]
			cs.HighestLevel = cs.Counts[pos[1]].Level
		}
	}
	return s, nil
}

// EvidenceAssociations link each assessed evidence achievement to the
// competency it shows. An achievement that is itself the assessment of a
// single competency (a competency assessment) is a child of it
// (isChildOf); a course or activity that shows a competency among other
// things is related to it (isRelatedTo). Duplicates are removed and the
// result is sorted for stable output.
func (l *Layer) EvidenceAssociations(assessments []Assessment, assessmentAchievements map[string]bool) []any {
	type key struct{ src, dst, kind string }
	seen := map[key]bool{}
	var keys []key
	for _, a := range assessments {
		if a.EvidenceAchievement == "" {
			continue
		}
		kind := "isRelatedTo"
		if assessmentAchievements[a.EvidenceAchievement] {
			kind = "isChildOf"
		}
		k := key{a.EvidenceAchievement, l.CompetencyURL(a.Competency), kind}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].src != keys[j].src {
			return keys[i].src < keys[j].src
		}
		return keys[i].dst < keys[j].dst
	})
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, Association(k.kind, k.src, k.dst))
	}
	return out
}
