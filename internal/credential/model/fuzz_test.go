package model

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// FuzzModelRoundTrip: decoding never panics; an encoded document decodes and
// re-encodes to the same bytes (the first pass is a fixed point); and the
// first pass keeps the document's meaning.
func FuzzModelRoundTrip(f *testing.F) {
	for _, p := range sharedJSONFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":["VerifiableCredential","ClrCredential"],"credentialSubject":{"verifiableCredential":{"type":"x","issuer":""}}}`))
	f.Add([]byte(`{"type":"AchievementCredential","name":"","credentialSubject":{"achievement":{"creditsAvailable":1e400,"tag":[]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		first, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("encode after decode: %v", err)
		}
		v2, err := Decode(first)
		if err != nil {
			t.Fatalf("decode of our own output: %v\n%s", err, first)
		}
		second, err := json.Marshal(v2)
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("not a fixed point:\n1: %s\n2: %s", first, second)
		}
		var in, out any
		if json.Unmarshal(data, &in) == nil {
			if err := json.Unmarshal(first, &out); err != nil {
				t.Fatalf("our output is not generic JSON: %v", err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("meaning changed:\nin:  %s\nout: %s", data, first)
			}
		}
	})
}
