package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/model"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func benchClr(n int) []byte {
	issuer := model.NewProfile("https://example.edu/issuers/565049", "Example University")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clr := model.NewClrCredential("urn:uuid:clr", "Transcript", issuer, "did:example:learner", at)
	for i := range n {
		a := model.NewAchievement(fmt.Sprintf("https://example.edu/achievements/%d", i), "Course", fmt.Sprintf("Course %d", i),
			"A course about something worth learning, described in a sentence or two.", "Pass the final exam.")
		a.Alignment = model.Many(model.NewAlignment("Critical Thinking", "https://example.edu/framework/ct", "CFItem"))
		a.ResultDescription = model.Many(model.NewResultDescription(fmt.Sprintf("urn:rd:%d", i), "Final grade", "LetterGrade"))
		ac := model.NewAchievementCredential(fmt.Sprintf("urn:uuid:ac-%d", i), issuer, "did:example:learner", a, at)
		ac.CredentialSubject.Result = model.Many(model.NewResult(fmt.Sprintf("urn:rd:%d", i), "A"))
		ac.Proof = model.Many(model.Proof{Type: "DataIntegrityProof", Cryptosuite: "eddsa-rdfc-2022", Created: "2026-01-01T00:00:00Z",
			ProofPurpose: "assertionMethod", VerificationMethod: "https://example.edu/issuers/565049#key-1",
			ProofValue: "z3d7QnJK9rH5H8ARTViDA8oygpawXzqZxY6DwdizBo19rmMWDLKDGwHyF4whGm2WZv7PRNmiw9mmGDjTWoVKXCoWj"})
		clr.AddCredential(ac)
		clr.AddAchievement(a)
	}
	b, err := json.Marshal(clr)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkValidateClr: our validator at both levels, and side by side the
// official JSON Schema evaluated by santhosh-tekuri/jsonschema (parse included
// in every case).
func BenchmarkValidateClr(b *testing.B) {
	main, _ := compileSchemas(b)
	ex, err := os.ReadFile(filepath.Join(sharedDir(b), "examples", "clr20", "simple.json"))
	if err != nil {
		b.Fatal(err)
	}
	inputs := []struct {
		name string
		doc  []byte
	}{{"example=simple", ex}, {"nested=1", benchClr(1)}, {"nested=10", benchClr(10)}, {"nested=40", benchClr(40)}}
	for _, in := range inputs {
		if errs := Validate(in.doc, Options{}); len(errs) != 0 {
			b.Fatalf("%s invalid: %v", in.name, errs)
		}
		for _, lv := range []struct {
			name  string
			level Level
		}{{"spec", LevelSpec}, {"schema", LevelSchema}} {
			b.Run(in.name+"/"+lv.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.doc)))
				b.ReportAllocs()
				for b.Loop() {
					if errs := Validate(in.doc, Options{Level: lv.level}); len(errs) != 0 {
						b.Fatal(errs)
					}
				}
			})
		}
		b.Run(in.name+"/baseline-jsonschema", func(b *testing.B) {
			b.SetBytes(int64(len(in.doc)))
			b.ReportAllocs()
			for b.Loop() {
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(in.doc))
				if err != nil {
					b.Fatal(err)
				}
				if err := main[KindClr].Validate(inst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
