package validate

import (
	"os"
	"testing"
)

// FuzzValidate: any input, at either level, yields errors or none, never a
// panic; errors always carry a code.
func FuzzValidate(f *testing.F) {
	for _, p := range sharedJSONFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`{"type":["VerifiableCredential","ClrCredential"],"credentialSubject":{"verifiableCredential":[{"type":"OpenBadgeCredential","issuer":{"en":"x"}}]}}`), true)
	f.Add([]byte(`[[[[{"@context":{}}]]]]`), false)
	f.Fuzz(func(t *testing.T, data []byte, schemaLevel bool) {
		opts := Options{MaxDepth: 32, MaxErrors: 50}
		if schemaLevel {
			opts.Level = LevelSchema
		}
		for _, e := range Validate(data, opts) {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("error without code or message: %+v", e)
			}
		}
	})
}
