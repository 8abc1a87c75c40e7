package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// FrameworkKey is the ConfigMap key holding the rendered framework JSON.
const FrameworkKey = "framework.json"

func frameworkConfigMapName(name string) string { return name + "-framework" }

// maxCompetencyDepth bounds the competency tree: a framework deeper than
// this is a modelling mistake, and clr-server renders the tree recursively.
const maxCompetencyDepth = 16

// validateFramework checks what the schema's CEL rules cannot: that the
// parent links form a tree (no cycle through several competencies), its
// depth, and references across the levels and competency lists (an id used
// as both a level and a competency would make the published fragment ids
// ambiguous; human codes are unique). Problems are listed in a stable order.
func validateFramework(spec *clrv1.FrameworkSpec) []string {
	var problems []string
	parent := make(map[string]string, len(spec.Competencies))
	for _, c := range spec.Competencies {
		parent[c.ID] = c.Parent
	}
	reported := map[string]bool{}
	for _, c := range spec.Competencies {
		seen := map[string]bool{}
		path := []string{}
		depth := 0
		for id := c.ID; id != ""; id = parent[id] {
			if seen[id] {
				cycle := append(path[indexOf(path, id):], id)
				key := canonicalCycle(cycle)
				if !reported[key] {
					reported[key] = true
					problems = append(problems, fmt.Sprintf("spec.competencies: the parent links form a cycle: %s", strings.Join(cycle, " -> ")))
				}
				break
			}
			seen[id] = true
			path = append(path, id)
			depth++
			if _, ok := parent[id]; !ok {
				break // unknown parent: the schema reports it
			}
		}
		if depth > maxCompetencyDepth && !reported["depth:"+c.ID] {
			reported["depth:"+c.ID] = true
			problems = append(problems, fmt.Sprintf("spec.competencies[%s]: the tree is %d levels deep at this competency (at most %d)", c.ID, depth, maxCompetencyDepth))
		}
	}
	levelIDs := map[string]bool{}
	for _, l := range spec.Levels {
		levelIDs[l.ID] = true
	}
	codes := map[string]string{}
	for _, c := range spec.Competencies {
		if levelIDs[c.ID] {
			problems = append(problems, fmt.Sprintf("spec.competencies[%s]: id %q is also the id of a level in spec.levels; ids must be distinct across levels and competencies", c.ID, c.ID))
		}
		if c.HumanCode == "" {
			continue
		}
		if other, ok := codes[c.HumanCode]; ok {
			problems = append(problems, fmt.Sprintf("spec.competencies[%s].humanCode: %q is already the code of competency %s", c.ID, c.HumanCode, other))
			continue
		}
		codes[c.HumanCode] = c.ID
	}
	return problems
}

func indexOf(s []string, v string) int {
	for i, e := range s {
		if e == v {
			return i
		}
	}
	return 0
}

// canonicalCycle names a cycle independently of where it was entered.
func canonicalCycle(cycle []string) string {
	ids := append([]string(nil), cycle[:len(cycle)-1]...)
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// renderFramework is the framework document clr-server publishes, with the
// canonical digest of its content.
func renderFramework(fw *clrv1.Framework) (serverconfig.Framework, error) {
	out := serverconfig.Framework{
		Name:        fw.Name,
		Title:       fw.Spec.Title,
		Description: fw.Spec.Description,
		Version:     fw.Spec.Version,
		Creator:     fw.Spec.Creator,
		URL:         fw.Spec.URL,
		Levels:      make([]serverconfig.FrameworkLevel, 0, len(fw.Spec.Levels)),
	}
	for _, l := range fw.Spec.Levels {
		out.Levels = append(out.Levels, serverconfig.FrameworkLevel{ID: l.ID, Name: l.Name, Description: l.Description})
	}
	out.Competencies = make([]serverconfig.Competency, 0, len(fw.Spec.Competencies))
	for _, c := range fw.Spec.Competencies {
		typ := c.Type
		if typ == "" {
			typ = "Competency"
		}
		sc := serverconfig.Competency{ID: c.ID, HumanCode: c.HumanCode, Name: c.Name, Description: c.Description, Type: typ, Parent: c.Parent}
		for _, a := range c.Alignments {
			sc.Alignments = append(sc.Alignments, serverconfig.Alignment{
				TargetURL: a.TargetURL, TargetName: a.TargetName, TargetFramework: a.TargetFramework,
				TargetCode: a.TargetCode, TargetType: a.TargetType, TargetDescription: a.TargetDescription,
			})
		}
		out.Competencies = append(out.Competencies, sc)
	}
	d, err := frameworkDigest(out)
	if err != nil {
		return out, err
	}
	out.Digest = d
	return out, nil
}

// frameworkDigest is the SHA-256 of the framework's canonical JSON without
// the digest itself. encoding/json writes struct fields in declaration order
// and map keys sorted, with no insignificant whitespace, so equal content
// gives equal bytes. The order of levels (lowest first) and competencies is
// content: reordering them changes the digest.
func frameworkDigest(f serverconfig.Framework) (string, error) {
	f.Digest = ""
	raw, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("encoding framework %s: %w", f.Name, err)
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// frameworkJSON is the published form (indented for people who read the
// ConfigMap).
func frameworkJSON(f serverconfig.Framework) (string, error) {
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding framework %s: %w", f.Name, err)
	}
	return string(raw) + "\n", nil
}

func buildFrameworkConfigMap(fw *clrv1.Framework, rendered serverconfig.Framework) (*corev1.ConfigMap, error) {
	doc, err := frameworkJSON(rendered)
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      frameworkConfigMapName(fw.Name),
			Namespace: fw.Namespace,
			Labels: map[string]string{
				LabelManagedBy: ManagedByValue,
				LabelName:      "clr-framework",
				LabelInstance:  fw.Name,
				LabelComponent: ComponentFramework,
				LabelFramework: fw.Name,
			},
		},
		Data: map[string]string{FrameworkKey: doc},
	}, nil
}

// frameworkSharedWith decides whether a CLRProvider in namespace ns (whose
// labels are nsLabels) may use the Framework. The Framework's own namespace
// always may; another only when spec.sharing.namespaceSelector selects it.
func frameworkSharedWith(fw *clrv1.Framework, ns string, nsLabels map[string]string) (bool, string, error) {
	if fw.Namespace == ns {
		return true, "", nil
	}
	if fw.Spec.Sharing == nil || fw.Spec.Sharing.NamespaceSelector == nil {
		return false, fmt.Sprintf("Framework %s/%s is not shared with other namespaces (it has no spec.sharing)", fw.Namespace, fw.Name), nil
	}
	sel, err := metav1.LabelSelectorAsSelector(fw.Spec.Sharing.NamespaceSelector)
	if err != nil {
		return false, "", fmt.Errorf("Framework %s/%s: spec.sharing.namespaceSelector: %w", fw.Namespace, fw.Name, err)
	}
	if !sel.Matches(labels.Set(nsLabels)) {
		return false, fmt.Sprintf("Framework %s/%s is not shared with namespace %s (its spec.sharing.namespaceSelector does not select it)", fw.Namespace, fw.Name, ns), nil
	}
	return true, "", nil
}
