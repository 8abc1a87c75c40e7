package framework_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/framework"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

func sample() serverconfig.Framework {
	return serverconfig.Framework{
		Name: "values", Title: "Essential Learning Outcomes",
		Levels: []serverconfig.FrameworkLevel{{ID: "exposure", Name: "Exposure"}, {ID: "integration", Name: "Integration"}, {ID: "transformation", Name: "Transformation"}},
		Competencies: []serverconfig.Competency{
			{ID: "ct", Name: "Critical Thinking", HumanCode: "CT", Alignments: []serverconfig.Alignment{{TargetURL: "https://case.example/CFItems/1", TargetName: "CT", TargetType: "CFItem"}}},
			{ID: "ct-1", Name: "Use of evidence", Parent: "ct"},
			{ID: "wc", Name: "Written Communication"},
		},
	}
}

func TestValidation(t *testing.T) {
	cases := map[string]func(f *serverconfig.Framework){
		"no levels":           func(f *serverconfig.Framework) { f.Levels = nil },
		"duplicate level":     func(f *serverconfig.Framework) { f.Levels = append(f.Levels, f.Levels[0]) },
		"duplicate comp":      func(f *serverconfig.Framework) { f.Competencies = append(f.Competencies, f.Competencies[0]) },
		"unknown parent":      func(f *serverconfig.Framework) { f.Competencies[1].Parent = "nope" },
		"cycle":               func(f *serverconfig.Framework) { f.Competencies[0].Parent = "ct-1" },
		"bad id":              func(f *serverconfig.Framework) { f.Competencies[2].ID = "w c/../x" },
		"no title":            func(f *serverconfig.Framework) { f.Title = "" },
		"no competency names": func(f *serverconfig.Framework) { f.Competencies[0].Name = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			f := sample()
			mutate(&f)
			if _, err := framework.New(f, "https://clr.example"); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := framework.New(sample(), "https://clr.example"); err != nil {
		t.Fatal(err)
	}
}

func TestAchievementsAndSummary(t *testing.T) {
	l, err := framework.New(sample(), "https://clr.example")
	if err != nil {
		t.Fatal(err)
	}
	creator := map[string]any{"id": "did:web:clr.example", "type": []any{"Profile"}}
	achs := l.Achievements(creator)
	if len(achs) != 3 {
		t.Fatalf("%d achievements", len(achs))
	}
	ct := achs[0].(map[string]any)
	if ct["id"] != "https://clr.example/frameworks/values/competencies/ct" || ct["achievementType"] != "Competency" || ct["humanCode"] != "CT" {
		t.Errorf("competency achievement %v", ct)
	}
	rd := ct["resultDescription"].([]any)[0].(map[string]any)
	levels := rd["rubricCriterionLevel"].([]any)
	if rd["resultType"] != "RubricCriterionLevel" || len(levels) != 3 || levels[2].(map[string]any)["name"] != "Transformation" || levels[2].(map[string]any)["level"] != "3" {
		t.Errorf("levels %v", rd)
	}
	if al := ct["alignment"].([]any); al[0].(map[string]any)["targetType"] != "CFItem" {
		t.Errorf("external alignment %v", al)
	}
	tree := l.TreeAssociations()
	if len(tree) != 1 || tree[0].(map[string]any)["associationType"] != "isChildOf" {
		t.Errorf("tree %v", tree)
	}

	as := []framework.Assessment{
		{Competency: "ct", Level: "exposure", EvidenceAchievement: "https://clr.example/achievements/a"},
		{Competency: "ct", Level: "transformation", EvidenceAchievement: "https://clr.example/achievements/b"},
		{Competency: "ct", Level: "exposure", EvidenceAchievement: "https://clr.example/achievements/c"},
		{Competency: "wc", Level: "integration", EvidenceAchievement: "https://clr.example/achievements/a"},
		{Competency: "wc", Level: "integration", EvidenceAchievement: "https://clr.example/achievements/a"},
	}
	sum, err := l.Summarize(as)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for _, c := range sum.Competencies {
		for _, lc := range c.Counts {
			got[c.ID] = append(got[c.ID], lc.Count)
		}
	}
	want := map[string][]int{"ct": {2, 0, 1}, "ct-1": {0, 0, 0}, "wc": {0, 2, 0}}
	for id, w := range want {
		if jsonOf(got[id]) != jsonOf(w) {
			t.Errorf("%s: counts %v, want %v", id, got[id], w)
		}
	}
	if sum.Competencies[0].HighestLevel != "transformation" || sum.Competencies[1].Highest != -1 || sum.Competencies[2].Total != 2 {
		t.Errorf("summary %+v", sum.Competencies)
	}
	// The Results round-trip to the same summary.
	back, err := l.ParseSummaryResults(l.SummaryResults(sum))
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(back) != jsonOf(sum) {
		t.Errorf("round trip:\n%s\n%s", jsonOf(back), jsonOf(sum))
	}
	// Associations: deduplicated, assessment achievements are children.
	assoc := l.EvidenceAssociations(as, map[string]bool{"https://clr.example/achievements/c": true})
	if len(assoc) != 4 {
		t.Fatalf("associations %v", assoc)
	}
	kinds := map[string]string{}
	for _, a := range assoc {
		m := a.(map[string]any)
		kinds[m["sourceId"].(string)+" "+m["targetId"].(string)] = m["associationType"].(string)
	}
	if kinds["https://clr.example/achievements/c https://clr.example/frameworks/values/competencies/ct"] != "isChildOf" ||
		kinds["https://clr.example/achievements/a https://clr.example/frameworks/values/competencies/wc"] != "isRelatedTo" {
		t.Errorf("association kinds %v", kinds)
	}
	if _, err := l.Summarize([]framework.Assessment{{Competency: "ct", Level: "mastery"}}); !errors.Is(err, framework.ErrUnknown) {
		t.Errorf("unknown level: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.Marshal(sample())
	p := filepath.Join(dir, "values.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := framework.Load([]serverconfig.FrameworkRef{{Name: "values", File: p}}, "https://clr.example")
	if err != nil || got["values"] == nil {
		t.Fatalf("load: %v", err)
	}
	if _, err := framework.Load([]serverconfig.FrameworkRef{{Name: "other", File: p}}, "https://clr.example"); err == nil {
		t.Error("name mismatch accepted")
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
