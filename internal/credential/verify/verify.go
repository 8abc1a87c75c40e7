package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/piprate/json-gold/ld"

	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/credential/model"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/credential/status"
	"github.com/learnerrecords/clr-operator/internal/credential/validate"
)

// Default limits.
const (
	DefaultMaxBytes       = 2 << 20
	DefaultMaxJSONDepth   = 64
	DefaultMaxNesting     = 4
	DefaultMaxCredentials = 256
	DefaultCanonTimeout   = 10 * time.Second
	DefaultMaxProofs      = 8
	DefaultMaxStatusLists = 32
)

// Options configure a Verifier. Loader is required.
type Options struct {
	// Loader serves the pinned JSON-LD contexts (jsonld.Loader); it must
	// never touch the network.
	Loader ld.DocumentLoader
	// Canonicalizer may be shared between verifiers (it caches processed
	// contexts); nil means one is built over Loader.
	Canonicalizer *dataintegrity.Canonicalizer
	// Resolver resolves keys and fetches status lists. Nil means an
	// offline resolver: keys only from did:key and verification method
	// fragments, no status lists.
	Resolver *resolve.Resolver
	// Now is the instant validity is judged at; zero means the time of
	// each Verify call.
	Now time.Time
	// MaxBytes bounds the input (default 2 MiB).
	MaxBytes int
	// MaxJSONDepth bounds JSON nesting of objects and arrays.
	MaxJSONDepth int
	// MaxNesting bounds how deep credentials nest in credentials (a CLR
	// holding achievement credentials holding endorsements is depth 2).
	MaxNesting int
	// MaxCredentials bounds the number of credentials verified in one
	// input, nested ones and status lists included.
	MaxCredentials int
	// CanonicalizationTimeout bounds one RDF canonicalisation.
	CanonicalizationTimeout time.Duration
	// MaxProofs bounds the proofs of one credential (each costs a
	// canonicalisation).
	MaxProofs int
	// MaxStatusLists bounds the distinct status lists fetched in one
	// verification, so a crafted CLR cannot make the verifier fetch
	// hundreds of URLs.
	MaxStatusLists int
	// StatusUnknownIsWarning makes an unknown status (list unreachable or
	// invalid) a warning instead of a failure. The default fails: an
	// unknown status is never "not revoked".
	StatusUnknownIsWarning bool
	// AllowStatusSet accepts a credentialStatus array (VC Data Model 2.0
	// allows a set; the OB 3.0 / CLR 2.0 JSON Schemas one object) with a
	// warning instead of a structure failure; every entry is still
	// validated and checked. A host that issues several status entries
	// (clr-server's credentialStatus.entries "all") verifies its own
	// credentials with it.
	AllowStatusSet bool
}

// validateOptions are the structural validator's options for this verifier.
func (v *Verifier) validateOptions() validate.Options {
	return validate.Options{MaxDepth: v.opts.MaxJSONDepth, MaxCredentials: v.opts.MaxCredentials, StatusSet: v.opts.AllowStatusSet}
}

// Verifier verifies credentials. It is safe for concurrent use.
type Verifier struct {
	opts  Options
	suite *dataintegrity.Suite
}

// New returns a Verifier.
func New(opts Options) (*Verifier, error) {
	if opts.Loader == nil {
		return nil, errors.New("verify: a JSON-LD document loader is required")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxJSONDepth <= 0 {
		opts.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if opts.MaxNesting <= 0 {
		opts.MaxNesting = DefaultMaxNesting
	}
	if opts.MaxCredentials <= 0 {
		opts.MaxCredentials = DefaultMaxCredentials
	}
	if opts.CanonicalizationTimeout <= 0 {
		opts.CanonicalizationTimeout = DefaultCanonTimeout
	}
	if opts.MaxProofs <= 0 {
		opts.MaxProofs = DefaultMaxProofs
	}
	if opts.MaxStatusLists <= 0 {
		opts.MaxStatusLists = DefaultMaxStatusLists
	}
	if opts.Resolver == nil {
		opts.Resolver = &resolve.Resolver{Offline: true}
	}
	canon := opts.Canonicalizer
	if canon == nil {
		limits := dataintegrity.DefaultLimits
		limits.Timeout = opts.CanonicalizationTimeout
		canon = dataintegrity.NewCanonicalizer(opts.Loader, limits)
	}
	return &Verifier{opts: opts, suite: dataintegrity.New(canon)}, nil
}

// run is the state of one Verify call.
type run struct {
	v       *Verifier
	now     time.Time
	report  *Report
	checker *status.Checker
	count   int
	// listDepth stops a status list from sending the verifier into another
	// status list.
	listDepth int
}

// Verify verifies input: a JSON credential or a compact JWS (VC-JWT),
// surrounding whitespace allowed.
func (v *Verifier) Verify(ctx context.Context, input []byte) *Report {
	now := v.opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := &run{v: v, now: now.UTC(), report: &Report{VerifiedAt: now.UTC().Format(time.RFC3339)}}
	r.checker = &status.Checker{Fetcher: &limitedFetcher{f: v.opts.Resolver, left: v.opts.MaxStatusLists}, VerifyList: r.verifyList}
	root, _ := r.verifyRoot(ctx, input, "", 0)
	if ctx.Err() != nil {
		// Checks cut short by the deadline reported what they saw; say why.
		root.fail(CheckLimits, CodeTimeout, "verification did not finish in time: "+ctx.Err().Error())
	}
	r.finish()
	return r.report
}

func (r *run) finish() {
	rep := r.report
	rep.Verified = len(rep.Credentials) > 0
	rep.Errors, rep.Warnings = 0, 0
	for _, c := range rep.Credentials {
		c.Verified = !c.failed()
		if !c.Verified {
			rep.Verified = false
		}
		for _, ch := range c.Checks {
			switch ch.Status {
			case Fail:
				rep.Errors++
			case Warn:
				rep.Warnings++
			}
		}
	}
}

// verifyRoot verifies a serialized credential (top-level input, a nested
// VC-JWT string, or a fetched status list) and every credential nested in
// it. It returns the report of the credential itself and its decoded JSON
// (nil when it could not be parsed).
func (r *run) verifyRoot(ctx context.Context, input []byte, path string, depth int) (*CredentialReport, map[string]any) {
	cr := &CredentialReport{Path: path, Format: FormatJSON}
	r.report.Credentials = append(r.report.Credentials, cr)
	r.count++
	if r.count > r.v.opts.MaxCredentials {
		cr.fail(CheckLimits, CodeTooManyCredentials, fmt.Sprintf("more than %d credentials in one input", r.v.opts.MaxCredentials))
		return cr, nil
	}
	if len(input) > r.v.opts.MaxBytes {
		cr.fail(CheckLimits, CodeTooLarge, fmt.Sprintf("input is %d bytes, more than the limit of %d", len(input), r.v.opts.MaxBytes))
		return cr, nil
	}
	trimmed := bytes.TrimSpace(input)
	if len(trimmed) == 0 {
		cr.fail(CheckParse, CodeJSONMalformed, "input is empty")
		return cr, nil
	}
	if trimmed[0] != '{' && trimmed[0] != '[' && trimmed[0] != '"' {
		cr.Format = FormatJWT
		jws, err := parseJWS(string(trimmed), r.v.opts.MaxJSONDepth)
		if err != nil {
			var ce *codedError
			if errors.As(err, &ce) {
				if ce.code == CodeJSONMalformed && strings.Count(string(trimmed), ".") != 2 {
					cr.Format = FormatJSON // neither JSON nor a JWS: report it as broken JSON
				}
				cr.fail(CheckParse, ce.code, ce.msg)
			} else {
				cr.fail(CheckParse, CodeJWSMalformed, err.Error())
			}
			return cr, nil
		}
		cr.pass(CheckParse, "compact JWS with a JSON payload")
		r.verifyJWTCredential(ctx, cr, jws, depth)
		return cr, jws.credential
	}
	if d := jsonDepth(trimmed); d > r.v.opts.MaxJSONDepth {
		cr.fail(CheckLimits, CodeTooDeep, fmt.Sprintf("JSON nests deeper than %d levels", r.v.opts.MaxJSONDepth))
		return cr, nil
	}
	doc, err := decodeObject(trimmed)
	if err != nil {
		cr.fail(CheckParse, CodeJSONMalformed, err.Error())
		return cr, nil
	}
	cr.pass(CheckParse, "JSON object")
	structErrs := validate.ValidateValue(doc, r.v.validateOptions())
	r.verifyJSONCredential(ctx, cr, doc, depth, structErrs, "")
	return cr, doc
}

// limitedFetcher allows a bounded number of fetches (the status checker
// memoises lists, so each distinct list is fetched once).
type limitedFetcher struct {
	f    status.Fetcher
	mu   sync.Mutex
	left int
}

func (l *limitedFetcher) Fetch(ctx context.Context, url string) ([]byte, error) {
	l.mu.Lock()
	if l.left <= 0 {
		l.mu.Unlock()
		return nil, fmt.Errorf("too many distinct status lists in one verification")
	}
	l.left--
	l.mu.Unlock()
	return l.f.Fetch(ctx, url)
}

// decodeObject decodes exactly one JSON object.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON document")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a credential must be a JSON object, not %s", jsonKind(v))
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// jsonDepth returns the maximum nesting of arrays and objects in raw JSON,
// ignoring brackets inside strings.
func jsonDepth(b []byte) int {
	depth, maxDepth := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				maxDepth = depth
			}
		case '}', ']':
			depth--
		}
	}
	return maxDepth
}

// describe fills the identifying fields of a report from the credential.
func describe(cr *CredentialReport, doc map[string]any) {
	cr.ID, _ = doc["id"].(string)
	cr.Type = typeStrings(doc["type"])
	cr.Issuer = status.IssuerID(doc["issuer"])
}

// verifyJSONCredential runs the checks of a JSON credential (the payload of
// a JWT has its own, verifyJWTCredential) except parsing. structErrs are the
// structural errors of the root document this credential belongs to, with
// paths relative to that root; base is the credential's path in that root.
func (r *run) verifyJSONCredential(ctx context.Context, cr *CredentialReport, doc map[string]any, depth int, structErrs []validate.Error, base string) {
	describe(cr, doc)
	r.checkContext(cr, doc)
	known := r.checkType(cr, doc)
	r.checkStructure(cr, doc, known, structErrs, base)
	r.checkDataIntegrity(ctx, cr, doc)
	r.checkValidity(cr, doc)
	r.checkStatus(ctx, cr, doc)
	r.verifyNested(ctx, cr, doc, depth, structErrs, base)
}

func (r *run) checkContext(cr *CredentialReport, doc map[string]any) {
	raw, ok := doc["@context"]
	if !ok {
		cr.fail(CheckContext, CodeContextMissing, "@context is missing")
		return
	}
	var entries []any
	switch v := raw.(type) {
	case []any:
		entries = v
	case string:
		entries = []any{v}
	default:
		cr.fail(CheckContext, CodeContextMissing, "@context is neither a string nor an array")
		return
	}
	if len(entries) == 0 {
		cr.fail(CheckContext, CodeContextMissing, "@context is empty")
		return
	}
	first, _ := entries[0].(string)
	if first != model.ContextVC2 && first != model.ContextVC1 {
		cr.fail(CheckContext, CodeContextOrder, fmt.Sprintf("the first @context must be %s (or %s for VC 1.1), not %v", model.ContextVC2, model.ContextVC1, entries[0]))
		return
	}
	for i, e := range entries {
		switch c := e.(type) {
		case string:
			if _, err := r.v.opts.Loader.LoadDocument(c); err != nil {
				if errors.Is(err, jsonld.ErrUnknownContext) {
					cr.fail(CheckContext, CodeContextUnknown, fmt.Sprintf("@context[%d] %s is not a known (pinned) context", i, c))
				} else {
					cr.fail(CheckContext, CodeContextUnknown, fmt.Sprintf("@context[%d] %s cannot be loaded: %v", i, c, err))
				}
				return
			}
		case map[string]any:
			// An inline context needs no loading; canonicalisation checks it.
		default:
			cr.fail(CheckContext, CodeContextMissing, fmt.Sprintf("@context[%d] is neither a URL nor an object", i))
			return
		}
	}
	cr.pass(CheckContext, fmt.Sprintf("%d contexts, all pinned", len(entries)))
}

// checkType reports whether the credential is of a class with structural
// rules (CLR, achievement, endorsement).
func (r *run) checkType(cr *CredentialReport, doc map[string]any) bool {
	types := typeStrings(doc["type"])
	if !slices.Contains(types, model.TypeVerifiableCredential) {
		cr.fail(CheckType, CodeTypeMissing, "type does not include VerifiableCredential")
		return false
	}
	switch model.KindOf(types) {
	case model.KindClr, model.KindAchievement, model.KindEndorsement:
		cr.pass(CheckType, strings.Join(types, ", "))
		return true
	}
	if slices.Contains(types, status.TypeBitstringCredential) {
		cr.pass(CheckType, strings.Join(types, ", "))
		return false
	}
	cr.warn(CheckType, CodeTypeUnknown, fmt.Sprintf("type %s is not a CLR 2.0 / Open Badges 3.0 credential; its structure is not checked", strings.Join(types, ", ")))
	return false
}

// checkStructure reports the structural errors located inside this
// credential and not inside one of its nested credentials.
func (r *run) checkStructure(cr *CredentialReport, doc map[string]any, known bool, errs []validate.Error, base string) {
	if !known {
		cr.skip(CheckStructure, "no structural rules for this type")
		return
	}
	// Errors inside an embedded credential object belong to that
	// credential's report; an error about the embedded value itself (a
	// string where an object is required) stays here.
	nestedPaths := nestedObjectPathsOf(doc, base)
	var mine []validate.Error
	for _, e := range errs {
		if e.Code == validate.CodeLimit && e.Path == "" && base == "" {
			mine = append(mine, e)
			continue
		}
		if !within(e.Path, base) {
			continue
		}
		inner := false
		for _, np := range nestedPaths {
			if within(e.Path, np) {
				inner = true
				break
			}
		}
		if !inner {
			mine = append(mine, e)
		}
	}
	if set, ok := doc["credentialStatus"].([]any); ok && r.v.opts.AllowStatusSet {
		cr.warn(CheckStructure, CodeStructure, fmt.Sprintf("credentialStatus is a set of %d entries (VC Data Model 2.0); the OB 3.0 / CLR 2.0 schemas expect one", len(set)))
		if len(mine) == 0 {
			return
		}
	}
	if len(mine) == 0 {
		cr.pass(CheckStructure, "conforms to the CLR 2.0 / Open Badges 3.0 data model")
		return
	}
	for _, e := range mine {
		code := CodeStructure
		switch {
		case e.Code == validate.CodeContext:
			code = CodeContextOrder
		case e.Code == validate.CodeLimit && strings.Contains(e.Message, "credential"):
			code = CodeTooManyCredentials
		case e.Code == validate.CodeLimit:
			code = CodeTooDeep
		case e.Code == validate.CodeTypeValue && (e.Path == joinPath(base, "type")):
			code = CodeTypeMissing
		}
		cr.Checks = append(cr.Checks, Check{Check: CheckStructure, Status: Fail, Code: code,
			Message: fmt.Sprintf("%s: %s", e.Code, e.Message), Path: e.Path})
	}
}

// within reports whether path p is base or below it.
func within(p, base string) bool {
	if base == "" {
		return true
	}
	return p == base || strings.HasPrefix(p, base+".") || strings.HasPrefix(p, base+"[")
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func typeStrings(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
