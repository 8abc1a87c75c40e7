package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadSample(t testing.TB, rel string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, b)
}

// parsePath turns "a.b[2].c" into mutate's node path.
func parsePath(s string) node {
	var n node
	for _, part := range strings.Split(s, ".") {
		key, rest, _ := strings.Cut(part, "[")
		n.path = append(n.path, key)
		for rest != "" {
			var i int
			fmt.Sscanf(rest, "%d]", &i)
			n.path = append(n.path, i)
			_, rest, _ = strings.Cut(rest, "[")
		}
	}
	return n
}

func hasError(errs []Error, path string, code Code) bool {
	for _, e := range errs {
		if e.Path == path && e.Code == code {
			return true
		}
	}
	return false
}

// TestErrorPathsAndCodes mutates a valid CLR and checks the exact error
// reported, at both levels.
func TestErrorPathsAndCodes(t *testing.T) {
	base := loadSample(t, "examples/clr20/simple.json")
	for _, l := range []Level{LevelSchema, LevelSpec} {
		if errs := ValidateValue(base, Options{Level: l}); len(errs) != 0 {
			t.Fatalf("base example invalid at level %d: %v", l, errs)
		}
	}
	cases := []struct {
		at, op    string
		path      string
		code      Code
		schemaToo bool // LevelSchema reports it as well
	}{
		{"credentialSubject.verifiableCredential[0].issuer.id", "delete", "credentialSubject.verifiableCredential[0].issuer.id", CodeRequired, true},
		{"credentialSubject.verifiableCredential[0].issuer", "set:42", "credentialSubject.verifiableCredential[0].issuer", CodeType, true},
		{"credentialSubject.verifiableCredential[0].validFrom", "set:\"yesterday\"", "credentialSubject.verifiableCredential[0].validFrom", CodeFormat, true},
		{"credentialSubject.verifiableCredential[0].credentialSubject.achievement.name", "delete", "credentialSubject.verifiableCredential[0].credentialSubject.achievement.name", CodeRequired, false},
		{"credentialSubject.verifiableCredential[0].@context[1]", "set:\"https://example.org/ctx\"", "credentialSubject.verifiableCredential[0].@context[1]", CodeContext, false},
		{"validFrom", "set:\"2010-13-45T00:00:00Z\"", "validFrom", CodeFormat, true},
		{"validFrom", "delete", "validFrom", CodeRequired, true},
		{"name", "delete", "name", CodeRequired, true},
		{"credentialSubject.association[0].associationType", "set:\"isFriendOf\"", "credentialSubject.association[0].associationType", CodeEnum, true},
		{"credentialSubject.association[0].sourceId", "delete", "credentialSubject.association[0].sourceId", CodeRequired, true},
		{"credentialSubject.achievement[0].image.id", "delete", "credentialSubject.achievement[0].image.id", CodeRequired, true},
		{"credentialSubject.achievement[0].image.type", "set:\"Picture\"", "credentialSubject.achievement[0].image.type", CodeEnum, true},
		{"@context[0]", "set:\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"", "@context[0]", CodeContext, true},
		{"@context[1]", "set:\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"", "@context[1]", CodeContext, true},
		{"@context", "set:\"https://www.w3.org/ns/credentials/v2\"", "@context", CodeContext, false},
		{"type", "set:[\"VerifiableCredential\"]", "type", CodeTypeValue, true},
		{"type", "set:\"ClrCredential\"", "type", CodeTypeValue, false},
		{"type", "set:[]", "type", CodeCount, true},
		{"credentialSubject.verifiableCredential", "set:[]", "credentialSubject.verifiableCredential", CodeCount, true},
		{"credentialSubject.type", "set:[\"Subject\"]", "credentialSubject.type", CodeTypeValue, true},
		{"id", "set:\"not a uri\"", "id", CodeFormat, false},
		{"issuer", "set:{\"id\":\"https://example.edu/issuers/1\"}", "issuer.type", CodeRequired, false},
		{"issuer", "set:\"example university\"", "issuer", CodeFormat, false},
		{"proof[0].created", "set:\"2010-01-01\"", "proof[0].created", CodeFormat, true},
		{"proof[0].type", "delete", "proof[0].type", CodeRequired, true},
		{"credentialSchema[0].id", "delete", "credentialSchema[0].id", CodeRequired, true},
		{"credentialSubject.achievement[1].criteria", "set:{}", "credentialSubject.achievement[1].criteria.narrative", CodeRequired, false},
		{"credentialSubject.achievement[1].description", "set:7", "credentialSubject.achievement[1].description", CodeType, true},
	}
	for _, c := range cases {
		t.Run(c.op+" "+c.at, func(t *testing.T) {
			doc, ok := mutate(base, parsePath(c.at), c.op)
			if !ok {
				t.Fatalf("mutation %s does not apply", c.op)
			}
			spec := ValidateValue(doc, Options{Kind: KindClr})
			if !hasError(spec, c.path, c.code) {
				t.Errorf("LevelSpec: want %s at %q, got %v", c.code, c.path, spec)
			}
			schema := ValidateValue(doc, Options{Level: LevelSchema, Kind: KindClr})
			if c.schemaToo != hasError(schema, c.path, c.code) {
				t.Errorf("LevelSchema: want reported=%v for %s at %q, got %v", c.schemaToo, c.code, c.path, schema)
			}
			if !c.schemaToo && len(schema) != 0 {
				t.Errorf("LevelSchema should accept what only the spec forbids, got %v", schema)
			}
		})
	}
}

// TestSpecLevelStricterRules covers spec-level rules on OB credentials.
func TestSpecLevelStricterRules(t *testing.T) {
	base := loadSample(t, "examples/ob30/simple.json")
	cases := []struct {
		at, op, path string
		code         Code
	}{
		{"name", "delete", "name", CodeRequired}, // OB 3.0 requires it; the schema does not
		{"credentialSubject.id", "delete", "credentialSubject.id", CodeRequired},
		{"credentialSubject.achievement.id", "set:\"teamwork\"", "credentialSubject.achievement.id", CodeFormat},
		{"credentialSubject.achievement", "add:achievementType=\"my-ext:Thing\"", "credentialSubject.achievement.achievementType", CodeEnum},
		{"credentialSubject.type", "set:{\"en\":\"AchievementSubject\"}", "credentialSubject.type", CodeType},
		{"proof[0].type", "set:\"\"", "proof[0].type", CodeFormat},
	}
	for _, c := range cases {
		doc, ok := mutate(base, parsePath(c.at), c.op)
		if !ok {
			t.Fatalf("%s %s does not apply", c.op, c.at)
		}
		if errs := ValidateValue(doc, Options{Level: LevelSchema}); len(errs) != 0 {
			t.Errorf("%s %s: the schema level should accept it, got %v", c.op, c.at, errs)
		}
		if errs := ValidateValue(doc, Options{}); !hasError(errs, c.path, c.code) {
			t.Errorf("%s %s: want %s at %q, got %v", c.op, c.at, c.code, c.path, errs)
		}
	}
	// Extension values with the prefix pass at both levels.
	doc, _ := mutate(base, parsePath("credentialSubject.achievement"), "add:achievementType=\"ext:Thing\"")
	if errs := ValidateValue(doc, Options{}); len(errs) != 0 {
		t.Errorf("ext: value rejected: %v", errs)
	}
}

// TestVC11 accepts VC 1.1 credentials at the spec level only, and requires
// issuanceDate for them.
func TestVC11(t *testing.T) {
	for _, rel := range []string{"examples/clr20/simple_v1.json", "examples/ob30/credential-status-revoked.json", "examples/ob30/simple-eddsa-2022.json"} {
		doc := loadSample(t, rel)
		if errs := ValidateValue(doc, Options{}); len(errs) != 0 {
			t.Errorf("%s: %v", rel, errs)
		}
		if errs := ValidateValue(doc, Options{Level: LevelSchema}); !hasError(errs, "@context[0]", CodeContext) || !hasError(errs, "validFrom", CodeRequired) {
			t.Errorf("%s: the schema level must reject VC 1.1, got %v", rel, errs)
		}
		bad, _ := mutate(doc, parsePath("issuanceDate"), "delete")
		if errs := ValidateValue(bad, Options{}); !hasError(errs, "issuanceDate", CodeRequired) {
			t.Errorf("%s without issuanceDate: %v", rel, errs)
		}
	}
}

func TestReferenceExamples(t *testing.T) {
	// Expected spec-level outcome of each reference credential.
	want := map[string][]Error{
		"examples/clr20/simple.json":                                   nil,
		"examples/clr20/simple_v1.json":                                nil,
		"examples/ob30/simple.json":                                    nil,
		"examples/ob30/simple-did-key-method.json":                     nil,
		"examples/ob30/simple-did-web-method.json":                     nil,
		"examples/ob30/simple-eddsa-2022.json":                         nil,
		"examples/ob30/simple-err-expired.json":                        nil, // expiry is the verifier's check
		"examples/ob30/credential-status-revoked.json":                 nil,
		"examples/ob30/bit-string-list/credential-status-revoked.json": nil,
		"test-vectors/clrv2p0/credential.json":                         nil,
		"test-vectors/clrv2p0/signed-credential.json":                  nil,
		// A draft CLR context URL that the spec never published.
		"examples/clr20/simple-noproof.json": {{Path: "@context[1]", Code: CodeContext}},
		// No achievement in the subject.
		"examples/ob30/simple-noproof.json": {{Path: "credentialSubject.achievement", Code: CodeRequired}},
	}
	for rel, w := range want {
		b, err := os.ReadFile(filepath.Join(sharedDir(t), rel))
		if err != nil {
			t.Fatal(err)
		}
		got := Validate(b, Options{})
		if len(got) != len(w) {
			t.Errorf("%s: got %v, want %v", rel, got, w)
			continue
		}
		for i := range w {
			if got[i].Path != w[i].Path || got[i].Code != w[i].Code {
				t.Errorf("%s: got %v, want %v", rel, got[i], w[i])
			}
		}
	}
}

// TestHostileInput: malformed and oversized documents give one clear error.
func TestHostileInput(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	deepObj := `{"type":["VerifiableCredential","ClrCredential"],"x":` + strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat("}", 70) + `}`
	cases := []struct {
		name string
		in   string
		opts Options
		code Code
	}{
		{"empty", ``, Options{}, CodeSyntax},
		{"truncated", `{"type":`, Options{}, CodeSyntax},
		{"not JSON", `credential`, Options{}, CodeSyntax},
		{"array", `[]`, Options{}, CodeSyntax},
		{"null", `null`, Options{}, CodeSyntax},
		{"string", `"x"`, Options{}, CodeSyntax},
		{"trailing data", `{} {}`, Options{}, CodeSyntax},
		{"no type", `{}`, Options{}, CodeTypeValue},
		{"unknown type", `{"type":["VerifiableCredential","Diploma"]}`, Options{}, CodeTypeValue},
		{"deep arrays", deep, Options{}, CodeLimit},
		{"deep objects", deepObj, Options{}, CodeLimit},
		{"too big", `{"type":"ClrCredential","pad":"` + strings.Repeat("x", 4096) + `"}`, Options{MaxBytes: 1024}, CodeLimit},
		{"brackets in strings do not count", `{"type":"Profile","id":"urn:x","name":"` + strings.Repeat("[{", 200) + `"}`, Options{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := Validate([]byte(c.in), c.opts)
			if c.code == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors %v", errs)
				}
				return
			}
			if len(errs) == 0 || errs[0].Code != c.code {
				t.Fatalf("want %s, got %v", c.code, errs)
			}
		})
	}
}

func TestLimitsOnCountsAndErrors(t *testing.T) {
	vc := `{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"issuer":"https://e.x/i","validFrom":"2020-01-01T00:00:00Z","credentialSubject":{}}`
	many := `{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],` +
		`"id":"urn:x","type":["VerifiableCredential","ClrCredential"],"name":"n","issuer":"https://e.x/i","validFrom":"2020-01-01T00:00:00Z",` +
		`"credentialSubject":{"type":["ClrSubject"],"verifiableCredential":[` + strings.TrimSuffix(strings.Repeat(vc+",", 20), ",") + `]}}`
	if errs := Validate([]byte(many), Options{}); len(errs) != 0 {
		t.Fatalf("20 generic credentials: %v", errs)
	}
	errs := Validate([]byte(many), Options{MaxCredentials: 5})
	if len(errs) != 1 || errs[0].Code != CodeLimit || errs[0].Path != "credentialSubject.verifiableCredential[5]" {
		t.Fatalf("want one LIMIT at the 6th credential, got %v", errs)
	}
	bad := strings.ReplaceAll(many, `"validFrom":"2020-01-01T00:00:00Z"`, `"validFrom":1`)
	errs = Validate([]byte(bad), Options{MaxErrors: 7})
	if len(errs) != 8 || errs[7].Code != CodeLimit {
		t.Fatalf("want 7 errors and a LIMIT, got %d: %v", len(errs), errs)
	}
}

func TestKindSelection(t *testing.T) {
	profile := `{"id":"https://e.x/p","type":"Profile","name":"P","address":{"type":["Address"],"geo":{"type":"GeoCoordinates","latitude":"north","longitude":2}}}`
	errs := Validate([]byte(profile), Options{})
	if len(errs) != 1 || errs[0].Path != "address.geo.latitude" || errs[0].Code != CodeType {
		t.Fatalf("profile: %v", errs)
	}
	// Validating an OB credential as a CLR reports the CLR rules.
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "examples/ob30/simple.json"))
	if err != nil {
		t.Fatal(err)
	}
	errs = Validate(b, Options{Kind: KindClr})
	if !hasError(errs, "type", CodeTypeValue) || !hasError(errs, "credentialSubject.verifiableCredential", CodeRequired) {
		t.Fatalf("OB as CLR: %v", errs)
	}
}

func TestDateTime(t *testing.T) {
	good := []string{"2010-01-01T00:00:00Z", "2010-01-01t00:00:00z", "2010-01-01T00:00:00.123Z", "2010-01-01T00:00:00+05:30",
		"2016-12-31T23:59:60Z", "2017-01-01T00:59:60+01:00"}
	bad := []string{"2010-01-01", "2010-01-01T00:00:00", "2010-01-01 00:00:00Z", "2010-02-30T00:00:00Z", "2010-01-01T24:00:00Z",
		"2010-01-01T00:00:00.Z", "2010-01-01T00:00:00+0530", "2010-01-01T12:00:60Z", "2010-01-01T00:00:00+24:00", "２010-01-01T00:00:00Z"}
	for _, s := range good {
		if !isDateTime(s) {
			t.Errorf("%s rejected", s)
		}
	}
	for _, s := range bad {
		if isDateTime(s) {
			t.Errorf("%s accepted", s)
		}
	}
}

// TestStatusSet: a credentialStatus array is an error by default (the
// official schemas allow one object) and, with StatusSet, accepted with each
// entry validated as a CredentialStatus.
func TestStatusSet(t *testing.T) {
	base := loadSample(t, "examples/clr20/simple.json")
	entry := `{"id":"https://example.edu/status/1#7","type":"BitstringStatusListEntry","statusPurpose":"revocation","statusListIndex":"7","statusListCredential":"https://example.edu/status/1"}`
	set, ok := mutate(base, parsePath("credentialStatus"), `set:[`+entry+`,{"id":"https://example.edu/issuers/1/revocations","type":"1EdTechRevocationList"}]`)
	if !ok {
		t.Fatal("mutation does not apply")
	}
	if errs := ValidateValue(set, Options{Kind: KindClr}); !hasError(errs, "credentialStatus", CodeType) {
		t.Errorf("default: want %s at credentialStatus, got %v", CodeType, errs)
	}
	if errs := ValidateValue(set, Options{Kind: KindClr, StatusSet: true}); len(errs) != 0 {
		t.Errorf("StatusSet: valid set rejected: %v", errs)
	}
	single, _ := mutate(base, parsePath("credentialStatus"), "set:"+entry)
	for _, o := range []Options{{Kind: KindClr}, {Kind: KindClr, StatusSet: true}} {
		if errs := ValidateValue(single, o); len(errs) != 0 {
			t.Errorf("StatusSet=%v: single entry rejected: %v", o.StatusSet, errs)
		}
	}
	for _, c := range []struct {
		value, path string
		code        Code
	}{
		{`[` + entry + `,{"id":"https://example.edu/r"}]`, "credentialStatus[1].type", CodeRequired},
		{`[` + entry + `,"https://example.edu/r"]`, "credentialStatus[1]", CodeType},
		{`[]`, "credentialStatus", CodeCount},
	} {
		doc, _ := mutate(base, parsePath("credentialStatus"), "set:"+c.value)
		if errs := ValidateValue(doc, Options{Kind: KindClr, StatusSet: true}); !hasError(errs, c.path, c.code) {
			t.Errorf("%s: want %s at %q, got %v", c.value, c.code, c.path, errs)
		}
	}
}
