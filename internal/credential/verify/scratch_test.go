package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	v, err := New(Options{Loader: testLoader(t), Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ob30/simple.json", "ob30/simple-did-key-method.json", "ob30/simple-err-expired.json", "ob30/simple-eddsa-2022.json", "ob30/simple-did-web-method.json", "ob30/credential-status-revoked.json", "ob30/bit-string-list/credential-status-revoked.json", "ob30/simple-noproof.json", "clr20/simple.json", "clr20/simple_v1.json", "clr20/simple-noproof.json"} {
		rep := v.Verify(context.Background(), readShared(t, "examples/"+f))
		b, _ := json.MarshalIndent(rep, "", " ")
		_ = b
		fmt.Println(f, rep.Verified, rep.Codes())
		for _, c := range rep.Credentials {
			for _, ch := range c.Checks {
				if ch.Status != Pass {
					fmt.Printf("   %s %s %s %s %s\n", c.Path, ch.Check, ch.Code, ch.Path, trunc(ch.Message))
				}
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
