package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchClr builds a CLR with n nested achievement credentials, each with a
// result, an alignment and a proof, close to what clr-server issues.
func benchClr(n int) []byte {
	issuer := NewProfile("https://example.edu/issuers/565049", "Example University")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clr := NewClrCredential("urn:uuid:clr", "Transcript", issuer, "did:example:learner", at)
	for i := range n {
		a := NewAchievement(fmt.Sprintf("https://example.edu/achievements/%d", i), "Course", fmt.Sprintf("Course %d", i),
			"A course about something worth learning, described in a sentence or two.", "Pass the final exam.")
		a.Alignment = Many(NewAlignment("Critical Thinking", "https://example.edu/framework/ct", "CFItem"))
		a.ResultDescription = Many(NewResultDescription(fmt.Sprintf("urn:rd:%d", i), "Final grade", "LetterGrade"))
		ac := NewAchievementCredential(fmt.Sprintf("urn:uuid:ac-%d", i), issuer, "did:example:learner", a, at)
		ac.CredentialSubject.Result = Many(NewResult(fmt.Sprintf("urn:rd:%d", i), "A"))
		ac.Proof = Many(Proof{Type: "DataIntegrityProof", Cryptosuite: "eddsa-rdfc-2022", Created: "2026-01-01T00:00:00Z",
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

func BenchmarkClrRoundTrip(b *testing.B) {
	inputs := map[string][]byte{"nested=1": benchClr(1), "nested=10": benchClr(10), "nested=40": benchClr(40)}
	ex, err := os.ReadFile(filepath.Join(sharedDir(b), "examples", "clr20", "simple_v1.json"))
	if err != nil {
		b.Fatal(err)
	}
	inputs["example=simple_v1"] = ex
	for _, name := range []string{"example=simple_v1", "nested=1", "nested=10", "nested=40"} {
		in := inputs[name]
		b.Run(name+"/model", func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var c ClrCredential
				if err := json.Unmarshal(in, &c); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/model-encode", func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var c ClrCredential
				if err := c.UnmarshalJSON(in); err != nil {
					b.Fatal(err)
				}
				if _, err := Encode(&c); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Baseline: the same document through a generic map (what code
		// without a model would do), measured side by side.
		b.Run(name+"/baseline-map", func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(in, &m); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
