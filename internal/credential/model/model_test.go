package model

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func semanticEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal a: %v", err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal b: %v", err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestRoundTripReferenceDocuments decodes every reference JSON document into
// the model and encodes it again: the result must be the same JSON (key order
// aside), and the typed fields must actually have been used.
func TestRoundTripReferenceDocuments(t *testing.T) {
	for _, path := range sharedJSONFiles(t) {
		name := filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if filepath.Base(path) == "proof.json" {
				p := new(Proof)
				if err := json.Unmarshal(in, p); err != nil {
					t.Fatal(err)
				}
				if p.ProofValue == "" || p.Type == "" {
					t.Fatalf("proof fields not decoded: %+v", p)
				}
				v = p
			} else {
				v, err = Decode(in)
				if err != nil {
					t.Fatal(err)
				}
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !semanticEqual(t, in, out) {
				t.Fatalf("round trip changed the document:\nin:  %s\nout: %s", compact(in), out)
			}
			direct, err := Encode(v.(Encoder))
			if err != nil {
				t.Fatal(err)
			}
			if !semanticEqual(t, in, direct) {
				t.Fatalf("Encode differs from the input: %s", direct)
			}
			checkTyped(t, v)
			assertNoKnownInExtra(t, reflect.ValueOf(v), "$")
		})
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	_ = json.Compact(&buf, b)
	return buf.String()
}

// checkTyped makes sure credentials landed in the typed fields, not in Extra.
func checkTyped(t *testing.T, v any) {
	t.Helper()
	switch c := v.(type) {
	case *ClrCredential:
		if c.ID == "" || c.Issuer.IsZero() || c.CredentialSubject == nil || c.CredentialSubject.VerifiableCredential.Len() == 0 {
			t.Fatalf("ClrCredential not decoded into typed fields: %+v", c)
		}
		for i, ac := range c.CredentialSubject.VerifiableCredential.Items {
			if ac.CredentialSubject == nil || ac.CredentialSubject.Achievement == nil || ac.CredentialSubject.Achievement.Name == "" {
				t.Fatalf("nested credential %d not decoded: %+v", i, ac)
			}
		}
	case *AchievementCredential:
		if c.ID == "" || c.Issuer.IsZero() || c.CredentialSubject == nil || len(c.CredentialSubject.Type.Items) == 0 {
			t.Fatalf("AchievementCredential not decoded into typed fields: %+v", c)
		}
	}
}

type propser interface{ props() []prop }

// assertNoKnownInExtra walks the decoded value and fails if a property the
// type declares ended up in Extra (which would mean a decode fell back).
func assertNoKnownInExtra(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			if p, ok := v.Interface().(propser); ok {
				extra := v.Elem().FieldByName("Extra").Interface().(map[string]json.RawMessage)
				for _, pr := range p.props() {
					if _, bad := extra[pr.name]; bad {
						t.Errorf("%s: known property %q fell back to Extra: %s", path, pr.name, extra[pr.name])
					}
				}
			}
			assertNoKnownInExtra(t, v.Elem(), path)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				assertNoKnownInExtra(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			for i := 0; i < v.Len(); i++ {
				assertNoKnownInExtra(t, v.Index(i).Addr(), path+"["+string(rune('0'+i%10))+"]")
			}
		}
	}
}

func TestOneOrManyKeepsForm(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"type":"Achievement"}`, `{"type":"Achievement"}`},
		{`{"type":["Achievement"]}`, `{"type":["Achievement"]}`},
		{`{"type":[]}`, `{"type":[]}`},
		{`{"type":["a","b"]}`, `{"type":["a","b"]}`},
		{`{"type":"x","alignment":{"type":"Alignment","targetName":"n","targetUrl":"u"}}`, `{"type":"x","alignment":{"type":"Alignment","targetName":"n","targetUrl":"u"}}`},
		{`{"type":"x","alignment":[{"type":"Alignment","targetName":"n","targetUrl":"u"}]}`, `{"type":"x","alignment":[{"type":"Alignment","targetName":"n","targetUrl":"u"}]}`},
	}
	for _, c := range cases {
		var a Achievement
		if err := json.Unmarshal([]byte(c.in), &a); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != c.want {
			t.Errorf("%s: got %s want %s", c.in, out, c.want)
		}
	}
}

func TestStringOrObject(t *testing.T) {
	for _, in := range []string{
		`{"issuer":"https://example.edu/issuers/1","image":"https://example.edu/i.png"}`,
		`{"issuer":{"id":"https://example.edu/issuers/1","type":"Profile"},"image":{"id":"data:image/png;base64,AA","type":"Image","caption":"c"}}`,
	} {
		var c AchievementCredential
		if err := json.Unmarshal([]byte(in), &c); err != nil {
			t.Fatal(err)
		}
		strForm := strings.Contains(in, `"issuer":"`)
		if strForm != (c.Issuer.IRI != "" && c.Issuer.Value == nil) {
			t.Errorf("%s: issuer form not kept: %+v", in, c.Issuer)
		}
		if strForm != (c.Image.IRI != "") || (!strForm && (c.Image.Value == nil || c.Image.Value.Caption != "c")) {
			t.Errorf("%s: image form not kept: %+v", in, c.Image)
		}
		out, _ := json.Marshal(c)
		if !semanticEqual(t, []byte(in), out) {
			t.Errorf("got %s want %s", out, in)
		}
	}
}

// TestUnexpectedShapesKept: a value whose shape the spec does not foresee is
// kept verbatim (in Extra) instead of failing or being dropped.
func TestUnexpectedShapesKept(t *testing.T) {
	in := `{"id":"urn:x","name":{"en":"Teamwork","fr":"Travail d'équipe"},"type":"Achievement","creditsAvailable":"3",
		"criteria":"https://example.edu/criteria","description":"","tag":["a",1],"x-ext":{"k":[1,2.5,null]},"hashed":null,"version":null}`
	var a Achievement
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if a.Name != "" || a.CreditsAvailable != nil || a.Criteria != nil || a.Tag.Len() != 0 {
		t.Fatalf("mis-shaped values must not fill typed fields: %+v", a)
	}
	for _, k := range []string{"name", "creditsAvailable", "criteria", "description", "tag", "x-ext", "version"} {
		if _, ok := a.Extra[k]; !ok {
			t.Errorf("%s not kept in Extra", k)
		}
	}
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if !semanticEqual(t, []byte(in), out) {
		t.Fatalf("got %s want %s", out, in)
	}
}

func TestDecodeRejectsNonObjects(t *testing.T) {
	for _, in := range []string{``, `null`, `[]`, `"x"`, `{`, `{"a":}`, `1`} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) succeeded", in)
		}
	}
}

// TestBuildClr assembles a CLR with the helpers and reads it back.
func TestBuildClr(t *testing.T) {
	issuer := NewProfile("https://example.edu/issuers/1", "Example University")
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clr := NewClrCredential("urn:uuid:clr-1", "Transcript", issuer, "did:example:learner", at)
	course := NewAchievement("https://example.edu/courses/101", "Course", "Writing 101", "Academic writing.", "Pass the course.")
	course.Alignment = Many(NewAlignment("Written Communication", "https://example.edu/framework/wc", "CFItem"))
	comp := NewAchievement("https://example.edu/competencies/wc", "Competency", "Written Communication", "Writes clearly.", "")
	ac := NewAchievementCredential("urn:uuid:ac-1", issuer, "did:example:learner", course, at)
	ac.CredentialSubject.Result = Many(NewResult("urn:rd:grade", "A"))
	clr.AddCredential(ac)
	clr.AddAchievement(course, comp)
	clr.AddAssociation(AssociationIsChildOf, course.ID, comp.ID)

	b, err := json.Marshal(clr)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	back, ok := v.(*ClrCredential)
	if !ok {
		t.Fatalf("decoded as %T", v)
	}
	if got := ContextIRIs(back.Context); len(got) != 3 || got[0] != ContextVC2 || got[1] != ContextCLR2 || got[2] != ContextOB3 {
		t.Errorf("contexts: %v", got)
	}
	if back.ValidFrom != "2026-05-01T12:00:00Z" || !Has(back.Type, TypeClrCredential) {
		t.Errorf("header: %s %v", back.ValidFrom, back.Type)
	}
	s := back.CredentialSubject
	if s.VerifiableCredential.Len() != 1 || s.Achievement.Len() != 2 || s.Association.Len() != 1 {
		t.Fatalf("subject: %+v", s)
	}
	if s.Association.Items[0].AssociationType != "isChildOf" || s.VerifiableCredential.Items[0].CredentialSubject.Result.Items[0].Value != "A" {
		t.Errorf("subject content: %+v", s)
	}
	if !reflect.DeepEqual(back, clr) {
		b2, _ := json.Marshal(back)
		t.Errorf("decode(encode(x)) != x:\n%s\n%s", b, b2)
	}
}

// TestDuplicateMembers: as with encoding/json, the last duplicate wins, also
// when it does not fit the typed field.
func TestDuplicateMembers(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"name":"a","name":"b"}`, `{"name":"b"}`},
		{`{"name":"a","name":5}`, `{"name":5}`},
		{`{"name":5,"name":"b"}`, `{"name":"b"}`},
		{`{"creator":{"id":"x"},"creator":"y"}`, `{"creator":"y"}`},
	} {
		var a Achievement
		if err := json.Unmarshal([]byte(c.in), &a); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != c.want {
			t.Errorf("%s: got %s want %s", c.in, out, c.want)
		}
	}
}

// TestExtraDoesNotAliasInput: decoded values must not change when the
// caller reuses its buffer.
func TestExtraDoesNotAliasInput(t *testing.T) {
	buf := []byte(`{"id":"urn:a","x-ext":{"k":"v"}}`)
	var p Profile
	if err := p.UnmarshalJSON(buf); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = ' '
	}
	if string(p.Extra["x-ext"]) != `{"k":"v"}` || p.ID != "urn:a" {
		t.Fatalf("decoded value changed with the input buffer: %q %q", p.ID, p.Extra["x-ext"])
	}
}

func TestEndorsementBuilder(t *testing.T) {
	e := NewEndorsementCredential("urn:e", "Endorsement", NewProfile("https://acc.example/1", "Accreditor"),
		"https://example.edu/issuers/1", "Accredited", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	b, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if Sniff(b) != KindEndorsement || !bytes.Contains(b, []byte(`"endorsementComment":"Accredited"`)) {
		t.Fatalf("%s", b)
	}
}
