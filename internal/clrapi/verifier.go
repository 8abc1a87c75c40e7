package clrapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/credential/verify"
)

// CoreVerifier adapts the credential core's verifier: a credential is
// accepted only when it and every credential nested in it pass every check
// (proofs, validity period, status, structure). The error names the first
// failing checks with their stable codes. Build v with a resolver that
// knows this host's own issuers (offline) so that upserting a CLR issued
// here needs no network.
func CoreVerifier(v *verify.Verifier) Verifier {
	return VerifierFunc(func(ctx context.Context, _ string, data []byte) error {
		rep := v.Verify(ctx, data)
		if rep.Verified {
			return nil
		}
		var problems []string
		for _, c := range rep.Credentials {
			for _, ch := range c.Checks {
				if ch.Status != verify.Fail {
					continue
				}
				where := c.Path
				if where == "" {
					where = "credential"
				}
				problems = append(problems, fmt.Sprintf("%s: %s (%s)", where, ch.Message, ch.Code))
				if len(problems) == 3 {
					break
				}
			}
			if len(problems) == 3 {
				break
			}
		}
		if len(problems) == 0 {
			return errors.New("the credential could not be verified")
		}
		return errors.New(strings.Join(problems, "; "))
	})
}
