// Package framework builds the framework layer of a Comprehensive Learner
// Record from a learning framework (serverconfig.Framework): the framework's
// competencies as Open Badges Achievements of achievementType Competency, its
// performance levels as RubricCriterionLevels, Associations linking evidence
// achievements to the competencies they show, and the per-competency summary
// by level (how many pieces of evidence show each competency at each level).
//
// Everything here is a pure function of the framework, the public base URL
// and the assessments: no storage, no signing.
package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// ErrUnknown is returned for a framework, competency or level id that the
// framework does not define.
var ErrUnknown = errors.New("unknown framework item")

// idPattern restricts the ids used in URLs, so that every URL built from
// them is well-formed without escaping surprises.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$`)

// Layer is one framework ready to build credentials with.
type Layer struct {
	fw         serverconfig.Framework
	base       string
	levelIndex map[string]int
	compIndex  map[string]int
}

// New validates a framework and binds it to the public base URL.
func New(fw serverconfig.Framework, publicURL string) (*Layer, error) {
	if !idPattern.MatchString(fw.Name) {
		return nil, fmt.Errorf("framework name %q: must match %s", fw.Name, idPattern)
	}
	if strings.TrimSpace(fw.Title) == "" {
		return nil, fmt.Errorf("framework %s: title is required", fw.Name)
	}
	if _, err := url.Parse(publicURL); err != nil || publicURL == "" {
		return nil, fmt.Errorf("framework %s: public URL %q is not a URL", fw.Name, publicURL)
	}
	if len(fw.Levels) == 0 {
		return nil, fmt.Errorf("framework %s: at least one level is required", fw.Name)
	}
	if len(fw.Competencies) == 0 {
		return nil, fmt.Errorf("framework %s: at least one competency is required", fw.Name)
	}
	l := &Layer{fw: fw, base: strings.TrimRight(publicURL, "/"), levelIndex: map[string]int{}, compIndex: map[string]int{}}
	for i, lv := range fw.Levels {
		if !idPattern.MatchString(lv.ID) {
			return nil, fmt.Errorf("framework %s: levels[%d].id %q: must match %s", fw.Name, i, lv.ID, idPattern)
		}
		if lv.Name == "" {
			return nil, fmt.Errorf("framework %s: levels[%d].name is required", fw.Name, i)
		}
		if _, dup := l.levelIndex[lv.ID]; dup {
			return nil, fmt.Errorf("framework %s: levels[%d].id %q is duplicated", fw.Name, i, lv.ID)
		}
		l.levelIndex[lv.ID] = i
	}
	for i, c := range fw.Competencies {
		if !idPattern.MatchString(c.ID) {
			return nil, fmt.Errorf("framework %s: competencies[%d].id %q: must match %s", fw.Name, i, c.ID, idPattern)
		}
		if c.Name == "" {
			return nil, fmt.Errorf("framework %s: competencies[%d].name is required", fw.Name, i)
		}
		if _, dup := l.compIndex[c.ID]; dup {
			return nil, fmt.Errorf("framework %s: competencies[%d].id %q is duplicated", fw.Name, i, c.ID)
		}
		l.compIndex[c.ID] = i
	}
	for i, c := range fw.Competencies {
		if c.Parent == "" {
			continue
		}
		if _, ok := l.compIndex[c.Parent]; !ok {
			return nil, fmt.Errorf("framework %s: competencies[%d].parent %q is not a competency", fw.Name, i, c.Parent)
		}
		// Walk up: a cycle would make the tree (and the associations) infinite.
		seen := map[string]bool{c.ID: true}
		for p := c.Parent; p != ""; p = fw.Competencies[l.compIndex[p]].Parent {
			if seen[p] {
				return nil, fmt.Errorf("framework %s: competencies[%d] (%s): parent cycle through %q", fw.Name, i, c.ID, p)
			}
			seen[p] = true
		}
	}
	return l, nil
}

// Load reads framework documents from their files (as the operator renders
// them) and returns them by name.
func Load(refs []serverconfig.FrameworkRef, publicURL string) (map[string]*Layer, error) {
	out := make(map[string]*Layer, len(refs))
	for _, ref := range refs {
		data, err := os.ReadFile(ref.File)
		if err != nil {
			return nil, fmt.Errorf("framework %s: %w", ref.Name, err)
		}
		var fw serverconfig.Framework
		if err := json.Unmarshal(data, &fw); err != nil {
			return nil, fmt.Errorf("framework %s: parse %s: %w", ref.Name, ref.File, err)
		}
		if fw.Name == "" {
			fw.Name = ref.Name
		}
		if fw.Name != ref.Name {
			return nil, fmt.Errorf("framework %s: file %s names framework %q", ref.Name, ref.File, fw.Name)
		}
		l, err := New(fw, publicURL)
		if err != nil {
			return nil, err
		}
		if _, dup := out[fw.Name]; dup {
			return nil, fmt.Errorf("framework %s: listed twice", fw.Name)
		}
		out[fw.Name] = l
	}
	return out, nil
}

// Framework returns the framework definition.
func (l *Layer) Framework() serverconfig.Framework { return l.fw }

// Name is the framework's short name.
func (l *Layer) Name() string { return l.fw.Name }

// URL is where the framework document is published.
func (l *Layer) URL() string { return l.base + "/frameworks/" + l.fw.Name }

// CompetencyURL is the id of a competency's Achievement; it resolves to the
// Achievement document.
func (l *Layer) CompetencyURL(id string) string { return l.URL() + "/competencies/" + id }

// LevelURL is the id of a level's RubricCriterionLevel.
func (l *Layer) LevelURL(id string) string { return l.URL() + "/levels/" + id }

// LevelRubricID is the id of the ResultDescription listing the levels of a
// competency.
func (l *Layer) LevelRubricID(compID string) string { return l.CompetencyURL(compID) + "#level" }

// LevelCountID is the id of the ResultDescription "number of pieces of
// evidence showing the competency at this level".
func (l *Layer) LevelCountID(compID, levelID string) string {
	return l.CompetencyURL(compID) + "#count-" + levelID
}

// Competency looks a competency up by id.
func (l *Layer) Competency(id string) (serverconfig.Competency, bool) {
	i, ok := l.compIndex[id]
	if !ok {
		return serverconfig.Competency{}, false
	}
	return l.fw.Competencies[i], true
}

// Level looks a level up by id and returns its rank (0 = lowest).
func (l *Layer) Level(id string) (serverconfig.FrameworkLevel, int, bool) {
	i, ok := l.levelIndex[id]
	if !ok {
		return serverconfig.FrameworkLevel{}, -1, false
	}
	return l.fw.Levels[i], i, true
}

// Check reports whether competency and level exist, with a message naming
// the unknown one.
func (l *Layer) Check(compID, levelID string) error {
	if _, ok := l.compIndex[compID]; !ok {
		return fmt.Errorf("%w: framework %s has no competency %q", ErrUnknown, l.fw.Name, compID)
	}
	if levelID != "" {
		if _, ok := l.levelIndex[levelID]; !ok {
			return fmt.Errorf("%w: framework %s has no level %q", ErrUnknown, l.fw.Name, levelID)
		}
	}
	return nil
}

// RubricLevels are the framework's levels as RubricCriterionLevels, lowest
// first, with their rank as "level" (1-based, as text per OB 3.0).
func (l *Layer) RubricLevels() []any {
	out := make([]any, 0, len(l.fw.Levels))
	for i, lv := range l.fw.Levels {
		m := map[string]any{
			"id":    l.LevelURL(lv.ID),
			"type":  []any{"RubricCriterionLevel"},
			"name":  lv.Name,
			"level": fmt.Sprint(i + 1),
		}
		if lv.Description != "" {
			m["description"] = lv.Description
		}
		out = append(out, m)
	}
	return out
}

// LevelRubric is the ResultDescription of a competency's performance level.
func (l *Layer) LevelRubric(compID string) map[string]any {
	c, _ := l.Competency(compID)
	return map[string]any{
		"id":                   l.LevelRubricID(compID),
		"type":                 []any{"ResultDescription"},
		"name":                 c.Name + " — level",
		"resultType":           "RubricCriterionLevel",
		"rubricCriterionLevel": l.RubricLevels(),
		"alignment":            []any{l.Alignment(compID)},
	}
}

// Alignment aligns something (an evidence achievement, a result) to a
// competency of this framework.
func (l *Layer) Alignment(compID string) map[string]any {
	c, _ := l.Competency(compID)
	a := map[string]any{
		"type":            []any{"Alignment"},
		"targetUrl":       l.CompetencyURL(compID),
		"targetName":      c.Name,
		"targetFramework": l.fw.Title,
		"targetType":      "ext:Competency",
	}
	if c.HumanCode != "" {
		a["targetCode"] = c.HumanCode
	}
	if c.Description != "" {
		a["targetDescription"] = c.Description
	}
	return a
}

// CompetencyAchievement is the Achievement of a competency: achievementType
// Competency, its levels as a RubricCriterionLevel ResultDescription, and its
// external alignments (e.g. CASE items).
func (l *Layer) CompetencyAchievement(compID string, creator map[string]any) map[string]any {
	c, _ := l.Competency(compID)
	desc := c.Description
	if desc == "" {
		desc = c.Name + " (" + l.fw.Title + ")"
	}
	a := map[string]any{
		"id":                l.CompetencyURL(compID),
		"type":              []any{"Achievement"},
		"achievementType":   "Competency",
		"name":              c.Name,
		"description":       desc,
		"criteria":          map[string]any{"narrative": "Demonstrated through evidence assessed against the levels of " + l.fw.Title + "."},
		"resultDescription": []any{l.LevelRubric(compID)},
	}
	if c.Type != "" && c.Type != "Competency" {
		a["achievementType"] = c.Type
	}
	if c.HumanCode != "" {
		a["humanCode"] = c.HumanCode
	}
	if l.fw.Version != "" {
		a["version"] = l.fw.Version
	}
	if creator != nil {
		a["creator"] = creator
	}
	if len(c.Alignments) > 0 {
		al := make([]any, 0, len(c.Alignments))
		for _, x := range c.Alignments {
			m := map[string]any{"type": []any{"Alignment"}, "targetUrl": x.TargetURL, "targetName": x.TargetName}
			for k, v := range map[string]string{"targetFramework": x.TargetFramework, "targetCode": x.TargetCode, "targetType": x.TargetType, "targetDescription": x.TargetDescription} {
				if v != "" {
					m[k] = v
				}
			}
			al = append(al, m)
		}
		a["alignment"] = al
	}
	return a
}

// Achievements are all competencies of the framework as Achievements, in
// framework order.
func (l *Layer) Achievements(creator map[string]any) []any {
	out := make([]any, 0, len(l.fw.Competencies))
	for _, c := range l.fw.Competencies {
		out = append(out, l.CompetencyAchievement(c.ID, creator))
	}
	return out
}

// TreeAssociations link each child competency to its parent (isChildOf).
func (l *Layer) TreeAssociations() []any {
	var out []any
	for _, c := range l.fw.Competencies {
		if c.Parent != "" {
			out = append(out, Association("isChildOf", l.CompetencyURL(c.ID), l.CompetencyURL(c.Parent)))
		}
	}
	return out
}

// Association is a CLR 2.0 Association between two achievements.
func Association(kind, sourceID, targetID string) map[string]any {
	return map[string]any{"type": "Association", "associationType": kind, "sourceId": sourceID, "targetId": targetID}
}

// Document is the public framework document served at URL(): the framework
// as an Achievement (achievementType "ext:LearningFramework") describing its
// levels, plus its competencies as Achievements and their tree.
func (l *Layer) Document(creator map[string]any) map[string]any {
	doc := l.SummaryAchievement(creator)
	doc["competencies"] = l.Achievements(creator)
	if tree := l.TreeAssociations(); len(tree) > 0 {
		doc["associations"] = tree
	}
	return doc
}
