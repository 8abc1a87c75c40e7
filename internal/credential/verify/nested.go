package verify

import (
	"context"
	"crypto"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/credential/status"
	"github.com/learnerrecords/clr-operator/internal/credential/validate"
)

// checkValidity judges validFrom/validUntil (VC 2.0) and
// issuanceDate/expirationDate (VC 1.1) against now.
func (r *run) checkValidity(cr *CredentialReport, doc map[string]any) {
	bad := false
	parse := func(name string) (time.Time, bool) {
		v, present := doc[name]
		if !present {
			return time.Time{}, false
		}
		s, ok := v.(string)
		if !ok {
			cr.fail(CheckValidity, CodeDateInvalid, fmt.Sprintf("%s is not a string", name))
			bad = true
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			cr.fail(CheckValidity, CodeDateInvalid, fmt.Sprintf("%s %q is not an RFC 3339 date-time", name, s))
			bad = true
			return time.Time{}, false
		}
		return t, true
	}
	var from, until []string
	for _, name := range []string{"validFrom", "issuanceDate"} {
		if t, ok := parse(name); ok {
			if r.now.Before(t) {
				cr.fail(CheckValidity, CodeNotYetValid, fmt.Sprintf("%s is %s, after %s", name, t.Format(time.RFC3339), r.now.Format(time.RFC3339)))
				bad = true
			}
			from = append(from, name)
		}
	}
	for _, name := range []string{"validUntil", "expirationDate"} {
		if t, ok := parse(name); ok {
			if !r.now.Before(t) {
				cr.fail(CheckValidity, CodeExpired, fmt.Sprintf("%s is %s, before %s", name, t.Format(time.RFC3339), r.now.Format(time.RFC3339)))
				bad = true
			}
			until = append(until, name)
		}
	}
	if bad {
		return
	}
	if len(from)+len(until) == 0 {
		cr.pass(CheckValidity, "no validity period")
		return
	}
	cr.pass(CheckValidity, "valid at "+r.now.Format(time.RFC3339))
}

// checkStatus evaluates credentialStatus. Revoked and suspended fail;
// unknown fails unless StatusUnknownIsWarning.
func (r *run) checkStatus(ctx context.Context, cr *CredentialReport, doc map[string]any) {
	if _, ok := doc["credentialStatus"]; !ok {
		cr.skip(CheckStatus, "no credentialStatus")
		return
	}
	if r.checker == nil {
		cr.skip(CheckStatus, "the status of a status list is not checked")
		return
	}
	results := r.checker.Check(ctx, doc, verifiedKeys(cr)...)
	state := status.Overall(results)
	cr.Status = &StatusInfo{State: string(state)}
	for _, res := range results {
		cr.Status.Entries = append(cr.Status.Entries, res)
	}
	msg := ""
	for _, res := range results {
		if res.State == state {
			msg = res.Message
			break
		}
	}
	switch state {
	case status.Valid:
		cr.pass(CheckStatus, msg)
	case status.Revoked:
		cr.fail(CheckStatus, CodeRevoked, msg)
	case status.Suspended:
		cr.fail(CheckStatus, CodeSuspended, msg)
	default:
		msg = "status unknown: " + msg
		if r.v.opts.StatusUnknownIsWarning {
			cr.warn(CheckStatus, CodeStatusUnknown, msg)
		} else {
			cr.fail(CheckStatus, CodeStatusUnknown, msg)
		}
	}
}

// verifiedKeys are the keys of a credential's verified proofs.
func verifiedKeys(cr *CredentialReport) []crypto.PublicKey {
	var out []crypto.PublicKey
	for _, p := range cr.Proofs {
		if p.Verified && p.pub != nil {
			out = append(out, p.pub)
		}
	}
	return out
}

// verifyList verifies a fetched status list credential for the status
// checker, in a separate run: its findings explain an unknown status rather
// than adding credentials to the report.
func (r *run) verifyList(ctx context.Context, raw []byte) (*status.VerifiedList, error) {
	if r.listDepth > 0 {
		return nil, fmt.Errorf("status list nested in a status list")
	}
	sub := &run{v: r.v, now: r.now, report: &Report{}, listDepth: r.listDepth + 1}
	cr, doc := sub.verifyRoot(ctx, raw, "", r.v.opts.MaxNesting)
	sub.finish()
	if !sub.report.Verified || doc == nil {
		return nil, errorsOf(sub.report)
	}
	list := &status.VerifiedList{Credential: doc, Keys: verifiedKeys(cr)}
	for _, p := range cr.Proofs {
		if p.Verified && p.KeyBinding == string(resolve.Bound) {
			list.Bound = true
		}
	}
	return list, nil
}

// nestedRef is a credential embedded in another one.
type nestedRef struct {
	rel   string
	value any
}

// nestedKeys hold embedded credentials: ClrSubject.verifiableCredential and
// the endorsements of credentials, achievements and profiles.
var nestedKeys = map[string]bool{"verifiableCredential": true, "endorsement": true, "endorsementJwt": true}

// skipKeys never hold embedded credentials.
var skipKeys = map[string]bool{"@context": true, "proof": true, "credentialStatus": true, "credentialSchema": true, "refreshService": true}

// findNested returns the credentials directly embedded in doc (not those
// inside them), in a stable order.
func findNested(doc map[string]any) []nestedRef {
	var out []nestedRef
	var walk func(v any, p string)
	walk = func(v any, p string) {
		switch t := v.(type) {
		case map[string]any:
			names := make([]string, 0, len(t))
			for k := range t {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				child := joinPath(p, k)
				if skipKeys[k] {
					continue
				}
				if nestedKeys[k] {
					switch items := t[k].(type) {
					case []any:
						for i, it := range items {
							out = append(out, nestedRef{rel: child + "[" + strconv.Itoa(i) + "]", value: it})
						}
					case nil:
					default:
						out = append(out, nestedRef{rel: child, value: items})
					}
					continue
				}
				walk(t[k], child)
			}
		case []any:
			for i, it := range t {
				walk(it, p+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(doc, "")
	return out
}

func nestedObjectPathsOf(doc map[string]any, base string) []string {
	var out []string
	for _, ref := range findNested(doc) {
		if _, ok := ref.value.(map[string]any); ok {
			out = append(out, joinPath(base, ref.rel))
		}
	}
	return out
}

// verifyNested verifies the credentials embedded in doc.
func (r *run) verifyNested(ctx context.Context, cr *CredentialReport, doc map[string]any, depth int, structErrs []validate.Error, base string) {
	refs := findNested(doc)
	if len(refs) == 0 {
		return
	}
	if depth+1 > r.v.opts.MaxNesting {
		cr.fail(CheckLimits, CodeTooDeep, fmt.Sprintf("credentials nest deeper than %d levels", r.v.opts.MaxNesting))
		return
	}
	for _, ref := range refs {
		display := joinPath(cr.Path, ref.rel)
		switch v := ref.value.(type) {
		case map[string]any:
			child := &CredentialReport{Path: display, Format: FormatJSON}
			r.report.Credentials = append(r.report.Credentials, child)
			r.count++
			if r.count > r.v.opts.MaxCredentials {
				child.fail(CheckLimits, CodeTooManyCredentials, fmt.Sprintf("more than %d credentials in one input", r.v.opts.MaxCredentials))
				return
			}
			child.pass(CheckParse, "embedded JSON credential")
			r.verifyJSONCredential(ctx, child, v, depth+1, structErrs, joinPath(base, ref.rel))
		case string:
			r.verifyRoot(ctx, []byte(v), display, depth+1)
			if r.count > r.v.opts.MaxCredentials {
				return
			}
		default:
			child := &CredentialReport{Path: display, Format: FormatJSON}
			r.report.Credentials = append(r.report.Credentials, child)
			child.fail(CheckParse, CodeJSONMalformed, fmt.Sprintf("embedded credential is %s, neither an object nor a compact JWS", jsonKind(v)))
		}
	}
}
