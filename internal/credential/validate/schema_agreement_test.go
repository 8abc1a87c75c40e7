package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official schemas, registered under their $id so that every reference
// resolves offline.
var schemaFiles = map[Kind]string{
	KindClr:         "clr_v2p0/clr_v2p0_clrcredential_schema.json",
	KindAchievement: "ob_v3p0/ob_v3p0_achievementcredential_schema.json",
	KindEndorsement: "ob_v3p0/ob_v3p0_endorsementcredential_schema.json",
	KindProfile:     "ob_v3p0/ob_v3p0_profile_schema.json",
}

// The CLR copies of the OB schemas, which must judge identically.
var altSchemaFiles = map[Kind]string{
	KindAchievement: "clr_v2p0/clr_v2p0_achievementcredential_schema.json",
	KindEndorsement: "clr_v2p0/clr_v2p0_endorsementcredential_schema.json",
	KindProfile:     "clr_v2p0/clr_v2p0_profile_schema.json",
}

func compileSchemas(t testing.TB) (main, alt map[Kind]*jsonschema.Schema) {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "schemas")
	c := jsonschema.NewCompiler()
	// The schemas use "format": "date-time"; the 1EdTech validator asserts
	// formats, so the comparison does too.
	c.AssertFormat()
	ids := map[string]string{}
	for _, files := range []map[Kind]string{schemaFiles, altSchemaFiles} {
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			id, _ := doc.(map[string]any)["$id"].(string)
			if id == "" {
				t.Fatalf("%s has no $id", f)
			}
			if err := c.AddResource(id, doc); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			ids[f] = id
		}
	}
	compile := func(files map[Kind]string) map[Kind]*jsonschema.Schema {
		out := map[Kind]*jsonschema.Schema{}
		for k, f := range files {
			s, err := c.Compile(ids[f])
			if err != nil {
				t.Fatalf("compile %s: %v", f, err)
			}
			out[k] = s
		}
		return out
	}
	return compile(schemaFiles), compile(altSchemaFiles)
}

type sample struct {
	name string
	kind Kind
	doc  any // decoded with UseNumber
}

func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// baseSamples returns every reference credential, plus the credentials,
// endorsements and profiles embedded in them as standalone documents.
func baseSamples(t testing.TB) []sample {
	t.Helper()
	var out []sample
	for _, p := range sharedJSONFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		doc := decodeJSON(t, b)
		k := DetectKind(doc)
		if k == KindAuto {
			continue // key material, proofs, status list: not a class we validate
		}
		name := filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p)
		out = append(out, sample{name, k, doc})
		var walk func(v any, at string)
		walk = func(v any, at string) {
			switch x := v.(type) {
			case map[string]any:
				for key, c := range x {
					if m, ok := c.(map[string]any); ok && (key == "issuer" || key == "creator" || key == "source") {
						out = append(out, sample{name + ":" + at + "." + key, KindProfile, m})
					}
					walk(c, at+"."+key)
				}
			case []any:
				for i, c := range x {
					if m, ok := c.(map[string]any); ok {
						if k := DetectKind(m); k == KindAchievement || k == KindEndorsement || k == KindClr {
							out = append(out, sample{fmt.Sprintf("%s:%s[%d]", name, at, i), k, m})
						}
					}
					walk(c, fmt.Sprintf("%s[%d]", at, i))
				}
			}
		}
		walk(doc, "")
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, c := range x {
			a[i] = deepCopy(c)
		}
		return a
	}
	return v
}

// node is a location in a document: a member key or an array index.
type node struct {
	path []any // string keys and int indices
}

func (n node) String() string {
	var b strings.Builder
	for _, s := range n.path {
		switch x := s.(type) {
		case string:
			b.WriteString("." + x)
		case int:
			fmt.Fprintf(&b, "[%d]", x)
		}
	}
	return b.String()
}

func allNodes(v any, prefix []any, out *[]node) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := append(slices.Clip(prefix), k)
			*out = append(*out, node{p})
			allNodes(x[k], p, out)
		}
	case []any:
		for i := range x {
			p := append(slices.Clip(prefix), i)
			*out = append(*out, node{p})
			allNodes(x[i], p, out)
		}
	}
}

// mutate applies op at n on a copy of doc; ok is false when op does not apply.
func mutate(doc any, n node, op string) (any, bool) {
	root := deepCopy(doc)
	if spec, ok := strings.CutPrefix(op, "add:"); ok {
		// Add a member to the object at n (the root when n is empty).
		var target any = root
		for _, s := range n.path {
			switch x := s.(type) {
			case string:
				target = target.(map[string]any)[x]
			case int:
				target = target.([]any)[x]
			}
		}
		m, isObj := target.(map[string]any)
		key, js, _ := strings.Cut(spec, "=")
		if _, exists := m[key]; !isObj || exists {
			return nil, false
		}
		d := json.NewDecoder(strings.NewReader(js))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			panic(err)
		}
		m[key] = v
		return root, true
	}
	var parent any = root
	for _, s := range n.path[:len(n.path)-1] {
		switch x := s.(type) {
		case string:
			parent = parent.(map[string]any)[x]
		case int:
			parent = parent.([]any)[x]
		}
	}
	last := n.path[len(n.path)-1]
	get := func() any {
		if k, ok := last.(string); ok {
			return parent.(map[string]any)[k]
		}
		return parent.([]any)[last.(int)]
	}
	set := func(v any) {
		if k, ok := last.(string); ok {
			parent.(map[string]any)[k] = v
		} else {
			parent.([]any)[last.(int)] = v
		}
	}
	cur := get()
	switch op {
	case "delete":
		k, ok := last.(string)
		if !ok {
			arr := parent.([]any)
			// Deleting an array item: rebuild the parent array.
			i := last.(int)
			newArr := append(slices.Clone(arr[:i]), arr[i+1:]...)
			if len(n.path) == 1 {
				return nil, false
			}
			return mutate(root, node{n.path[:len(n.path)-1]}, "set:"+mustJSON(newArr))
		}
		delete(parent.(map[string]any), k)
	case "wrap":
		if _, isArr := cur.([]any); isArr {
			return nil, false
		}
		set([]any{cur})
	case "unwrap":
		arr, isArr := cur.([]any)
		if !isArr || len(arr) == 0 {
			return nil, false
		}
		set(arr[0])
	case "empty":
		switch cur.(type) {
		case []any:
			set([]any{})
		case map[string]any:
			set(map[string]any{})
		case string:
			set("")
		default:
			return nil, false
		}
	default:
		js, ok := strings.CutPrefix(op, "set:")
		if !ok {
			panic(op)
		}
		d := json.NewDecoder(strings.NewReader(js))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			panic(err)
		}
		set(v)
	}
	return root, true
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// replacement values: wrong types, wrong enum values, bad formats, and the
// shapes the schemas accept oddly (language maps, extension values).
var replacements = []string{
	`42`, `true`, `null`, `"x"`, `{}`, `[]`, `["x"]`,
	`"NotAnEnumValue"`, `"ext:Custom"`, `"my-ext:Custom"`,
	`"2010-13-45T00:00:00Z"`, `"2010-01-01 00:00:00"`, `"2010-01-01T00:00:00+01:00"`, `"2010-01-01T23:59:60Z"`,
	`{"en":"x"}`, `{"english":"x"}`,
	`"https://www.w3.org/2018/credentials/v1"`, `"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"`,
	`"https://purl.imsglobal.org/spec/clr/v2p0/context.json"`,
	`"Profile"`, `["VerifiableCredential"]`, `["Achievement","Foo"]`, `"Image"`,
	`"eyJhbGciOiJFZERTQSJ9.eyJ4IjoxfQ.c2ln"`, `"not a jws"`,
	`"1990-02-30"`, `"1990-02-03"`, `1.5`,
}

// addedProperties are set on objects that lack them (each with a few values).
var addedProperties = []string{
	"status", "associationType", "achievementType", "resultType", "targetType", "identityType", "creditsAvailable",
	"creditsEarned", "latitude", "image", "endorsementJwt", "inLanguage", "dateOfBirth", "geo", "partial", "hashed",
	"credentialStatus", "refreshService", "validUntil", "awardedDate", "activityStartDate", "caption", "salt",
	"x-extension", "evidence", "termsOfUse", "parentOrg", "address", "tag", "allowedValue", "alignment",
}

var addedValues = []string{`"Completed"`, `"isParentOf"`, `"Course"`, `42`, `true`, `"x"`, `{"id":"https://e.x/i.png","type":"Image"}`,
	`{"type":"Address"}`, `{"type":"Evidence"}`, `"2010-01-01T00:00:00Z"`, `"en-US"`, `{"type":"GeoCoordinates","latitude":1,"longitude":2}`,
	`{"id":"https://e.x/s","type":"1EdTechRevocationList"}`, `["a","b"]`, `{"id":"https://e.x/p","type":"Profile"}`}

var ops = func() []string {
	out := []string{"delete", "wrap", "unwrap", "empty"}
	for _, r := range replacements {
		out = append(out, "set:"+r)
	}
	for i, p := range addedProperties {
		for j := 0; j < 3; j++ {
			out = append(out, "add:"+p+"="+addedValues[(i*7+j*5)%len(addedValues)])
		}
	}
	return out
}()

type mutant struct {
	desc string
	kind Kind
	doc  []byte
	base bool // the unmutated document
}

// mutants returns the samples themselves plus a deterministic selection of
// mutations: every deletion of an object member, and a seeded random sample of
// the other operations.
func mutants(t testing.TB, samples []sample, perSample int) []mutant {
	rng := rand.New(rand.NewPCG(3, 2026))
	var out []mutant
	for _, s := range samples {
		out = append(out, mutant{s.name, s.kind, []byte(mustJSON(s.doc)), true})
		nodes := []node{{}} // the root, for "add"
		allNodes(s.doc, nil, &nodes)
		budget := perSample
		for _, n := range nodes {
			if len(n.path) == 0 {
				continue
			}
			if _, isKey := n.path[len(n.path)-1].(string); isKey && budget > 0 {
				if m, ok := mutate(s.doc, n, "delete"); ok {
					out = append(out, mutant{s.name + " delete " + n.String(), s.kind, []byte(mustJSON(m)), false})
					budget--
				}
			}
		}
		for tries := 0; budget > 0 && tries < perSample*10; tries++ {
			n := nodes[rng.IntN(len(nodes))]
			op := ops[rng.IntN(len(ops))]
			if len(n.path) == 0 && !strings.HasPrefix(op, "add:") {
				continue
			}
			if m, ok := mutate(s.doc, n, op); ok {
				out = append(out, mutant{s.name + " " + op + " at " + n.String(), s.kind, []byte(mustJSON(m)), false})
				budget--
			}
		}
	}
	return out
}

// TestAgreesWithOfficialSchemas: LevelSchema judges every reference document
// and every mutation exactly as the official JSON Schemas do (valid iff
// valid), and LevelSpec rejects everything the schemas reject (except VC 1.1
// credentials, which the spec level accepts on purpose; see spec.go).
func TestAgreesWithOfficialSchemas(t *testing.T) {
	main, alt := compileSchemas(t)
	samples := baseSamples(t)
	if len(samples) < 20 {
		t.Fatalf("only %d samples", len(samples))
	}
	all := mutants(t, samples, 60)
	var schemaValid, schemaInvalid, mismatches int
	byOp := map[string][2]int{}
	for _, m := range all {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(m.doc))
		if err != nil {
			t.Fatal(err)
		}
		serr := main[m.kind].Validate(inst)
		if a := alt[m.kind]; a != nil {
			if aerr := a.Validate(inst); (aerr == nil) != (serr == nil) {
				t.Errorf("%s: the CLR and OB copies of the %s schema disagree", m.desc, m.kind)
			}
		}
		ours := Validate(m.doc, Options{Level: LevelSchema, Kind: m.kind})
		if serr == nil {
			schemaValid++
		} else {
			schemaInvalid++
		}
		op := strings.Fields(m.desc + " base")[1]
		c := byOp[op]
		if serr == nil {
			c[0]++
		} else {
			c[1]++
		}
		byOp[op] = c
		if (serr == nil) != (len(ours) == 0) {
			mismatches++
			if mismatches <= 15 {
				t.Errorf("%s: schema valid=%v, LevelSchema errors=%v\nschema: %v\ndoc: %s", m.desc, serr == nil, ours, serr, m.doc)
			}
		}
		// Spec level must be at least as strict, VC 1.1 aside.
		spec := Validate(m.doc, Options{Level: LevelSpec, Kind: m.kind})
		if serr != nil && len(spec) == 0 && !usesVC1(m.doc) {
			t.Errorf("%s: the schema rejects it but LevelSpec accepts it\nschema: %v", m.desc, serr)
		}
	}
	t.Logf("%d documents (%d samples): %d schema-valid, %d schema-invalid, %d disagreements", len(all), len(samples), schemaValid, schemaInvalid, mismatches)
	// The comparison means something only if both outcomes are well represented.
	if len(all) < 300 || schemaValid < 50 || schemaInvalid < 150 {
		t.Fatalf("mutation corpus too one-sided: %d total, %d valid, %d invalid", len(all), schemaValid, schemaInvalid)
	}
}

// usesVC1 reports whether the document or an embedded credential starts its
// @context with the VC 1.1 context.
func usesVC1(doc []byte) bool {
	return bytes.Contains(doc, []byte(`"@context":["https://www.w3.org/2018/credentials/v1"`))
}
