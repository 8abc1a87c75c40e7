package verify

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkVerifyCLR verifies a signed CLR holding n signed achievement
// credentials: Data Integrity (eddsa-rdfc-2022 outside and inside), and a
// VC-JWT CLR (EdDSA) whose embedded credentials are eddsa-rdfc-2022 signed
// JSON objects — CLR 2.0 embeds credentials as objects only, so a JWT CLR
// still carries Data Integrity proofs inside. Keys come from a did:web
// document on a loopback HTTPS server, cached by the resolver after the
// first iteration.
//
//	go test -run '^$' -bench BenchmarkVerifyCLR -benchtime 3x ./internal/credential/verify/
func BenchmarkVerifyCLR(b *testing.B) {
	w := newWorld(b)
	edVM := w.did + "#ed"
	for _, format := range []string{"di", "jwt"} {
		for _, n := range []int{1, 10, 40} {
			nested := make([]any, n)
			for i := range nested {
				a := w.achievement(fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i))
				nested[i] = w.signDI(a, w.ed, edVM)
			}
			var input []byte
			if format == "di" {
				input = js(w.signDI(w.clr(nested...), w.ed, edVM))
			} else {
				input = []byte(w.signJWT(w.clr(nested...), w.ed, edVM))
			}
			v := w.verifier(Options{})
			b.Run(fmt.Sprintf("%s/nested=%d", format, n), func(b *testing.B) {
				if rep := v.Verify(context.Background(), input); !rep.Verified || len(rep.Credentials) != n+1 {
					b.Fatalf("fixture not verified (%d credentials)\n%s", len(rep.Credentials), brief(rep))
				}
				b.SetBytes(int64(len(input)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					v.Verify(context.Background(), input)
				}
			})
		}
	}
}

// FuzzVerify feeds arbitrary bytes to the verifier: it must never panic,
// and its report must be consistent (verified only without failures).
//
//	go test -run '^$' -fuzz FuzzVerify -fuzztime 30s ./internal/credential/verify/
func FuzzVerify(f *testing.F) {
	for _, rel := range []string{"examples/ob30/simple.json", "examples/clr20/simple.json", "examples/ob30/bit-string-list/credential-status-revoked.json"} {
		f.Add(readShared(f, rel))
	}
	f.Add([]byte(`eyJhbGciOiJFZERTQSIsImtpZCI6ImRpZDprZXk6ejZNa2paUlp2M2FlejNyMThwQjFSQkZKUjFrd1VWSjVqSHQ5MkptUXdYYmQ1aHdpIn0.eyJAY29udGV4dCI6W119.c2ln`))
	f.Add([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"proof":{}}`))
	v, err := New(Options{Loader: testLoader(f), Now: testNow})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rep := v.Verify(context.Background(), in)
		if len(rep.Credentials) == 0 {
			t.Fatal("empty report")
		}
		if rep.Verified && rep.Errors > 0 {
			t.Fatalf("verified with %d errors", rep.Errors)
		}
		for _, c := range rep.Credentials {
			if len(c.Checks) == 0 {
				t.Fatalf("credential %q without checks", c.Path)
			}
		}
	})
}
