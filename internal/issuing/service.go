// Package issuing is the institution's issuing API: a registrar's or
// student information system's client posts a learner's learning (courses,
// co-curricular and experiential activities, competency assessments) and
// gets back, per experience, its own signed AchievementCredential, and the
// learner's ClrCredential assembling them, whole or partial, with the
// framework layer (internal/framework) on top of the evidence layer.
//
// Issuance is atomic: one transaction stores the learning records, the
// credentials, their status list indexes and the idempotency key; a request
// retried with the same idempotency key never issues twice.
package issuing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/model"
	"github.com/learnerrecords/clr-operator/internal/framework"
	"github.com/learnerrecords/clr-operator/internal/issuing/proof"
	"github.com/learnerrecords/clr-operator/internal/server/app"
	"github.com/learnerrecords/clr-operator/internal/statuslist"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Errors the handlers map to HTTP statuses.
var (
	// ErrIdempotencyMismatch: the idempotency key was used before with a
	// different request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrUnknownIssuer: the request names no configured issuer.
	ErrUnknownIssuer = errors.New("unknown issuer")
	// ErrNothingToAssemble: the learner has no (unrevoked) credentials.
	ErrNothingToAssemble = errors.New("no credentials to assemble")
)

// Service issues credentials.
type Service struct {
	Store      store.Store
	Issuers    map[string]*proof.Issuer
	Frameworks map[string]*framework.Layer
	Status     *statuslist.Service
	URLs       URLs
	Now        func() time.Time
	// Metrics may be nil.
	Metrics *app.Metrics
}

// IssuedCredential is one signed credential in an API response.
type IssuedCredential struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Format string `json:"format"`
	// Credential is the JSON credential (Data Integrity) or the compact JWS
	// as a JSON string (VC-JWT); omitted in compact results (bulk).
	Credential json.RawMessage `json:"credential,omitempty"`
}

// IssuedRecord is one experience and its credential.
type IssuedRecord struct {
	RecordID   string           `json:"recordId"`
	Kind       string           `json:"kind"`
	Title      string           `json:"title"`
	Credential IssuedCredential `json:"credential"`
}

// IssueResponse answers an IssueRequest.
type IssueResponse struct {
	Learner string         `json:"learner"`
	Issuer  string         `json:"issuer"`
	Records []IssuedRecord `json:"records"`
}

// recordData is what a LearningRecord keeps: the experience as posted and
// the learner as named then (the CLR's subject identity).
type recordData struct {
	Learner    Learner    `json:"learner"`
	Experience Experience `json:"experience"`
	Format     string     `json:"format"`
	// Index is the experience's position in its request (CLRs list
	// experiences in the order they were posted).
	Index int `json:"index"`
}

// Outcome is the result of Issue: the HTTP status and body to answer with,
// and whether it is a replay of an earlier issuance.
type Outcome struct {
	Status   int
	Body     []byte
	Replayed bool
}

func (s *Service) issuer(name string) (*proof.Issuer, error) {
	if name == "" {
		if len(s.Issuers) == 1 {
			for _, iss := range s.Issuers {
				return iss, nil
			}
		}
		return nil, fmt.Errorf("%w: issuer is required (this host serves %d issuers)", ErrInvalid, len(s.Issuers))
	}
	iss, ok := s.Issuers[name]
	if !ok {
		return nil, fmt.Errorf("%w: issuer %q: %w", ErrInvalid, name, ErrUnknownIssuer)
	}
	return iss, nil
}

func (s *Service) format(iss *proof.Issuer, f string) (string, error) {
	if f == "" {
		return iss.DefaultFormat(), nil
	}
	if !iss.HasFormat(f) {
		return "", fmt.Errorf("%w: format: issuer %s issues %s, not %q", ErrInvalid, iss.Name, strings.Join(iss.Formats, ", "), f)
	}
	return f, nil
}

// RequestHash identifies a request's content for idempotency checks.
func RequestHash(req *IssueRequest) string {
	c := *req
	c.IdempotencyKey = ""
	data, _ := json.Marshal(c)
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// errReplayRace signals that a concurrent request stored the same key first.
var errReplayRace = errors.New("idempotency key stored concurrently")

// Issue validates and issues one learner's learning in one transaction. The
// idempotency key (may be empty) is scoped to clientID.
//
// full selects the response: with every signed credential, or compact (ids
// only, what bulk issuance streams back). The idempotency record keeps the
// compact form; a replay in full form reloads the credentials.
func (s *Service) Issue(ctx context.Context, clientID, idemKey string, req *IssueRequest, full bool) (*Outcome, error) {
	iss, err := s.issuer(req.Issuer)
	if err != nil {
		return nil, err
	}
	format, err := s.format(iss, req.Format)
	if err != nil {
		return nil, err
	}
	if err := req.Validate(s.Frameworks); err != nil {
		return nil, err
	}
	if len(idemKey) > 200 {
		return nil, fmt.Errorf("%w: idempotency key longer than 200 bytes", ErrInvalid)
	}
	hash := RequestHash(req)
	if idemKey != "" {
		if out, err := s.replay(ctx, clientID, idemKey, hash, full); out != nil || err != nil {
			return out, err
		}
	}
	now := s.Now().UTC()
	resp := IssueResponse{Learner: req.Learner.ID, Issuer: iss.Name, Records: make([]IssuedRecord, 0, len(req.Experiences))}
	b := builder{urls: s.URLs, frameworks: s.Frameworks}
	// What needs no database is prepared before the transaction: on SQLite
	// the transaction holds the only writer connection, and every other
	// issuance waits for it.
	type pending struct {
		uuid, credURL, recID string
		data                 []byte
	}
	items := make([]pending, len(req.Experiences))
	for i := range req.Experiences {
		data, err := json.Marshal(recordData{Learner: req.Learner, Experience: req.Experiences[i], Format: format, Index: i})
		if err != nil {
			return nil, err
		}
		uuid := NewUUID()
		items[i] = pending{uuid: uuid, credURL: s.URLs.Credential(uuid), recID: NewUUID(), data: data}
	}
	var body, compact []byte
	var issued int
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		resp.Records = resp.Records[:0]
		if _, err := tx.EnsureLearner(ctx, req.Learner.ID, now); err != nil {
			return err
		}
		statuses := make([]any, len(items))
		for i := range items {
			var err error
			if statuses[i], err = s.Status.Allocate(ctx, tx, iss.Name, items[i].credURL, now); err != nil {
				return err
			}
		}
		// The credentials carry their status indexes, allocated in this
		// transaction, so they are signed in it, on every core at once.
		signed, err := signEach(len(items), func(i int) (*proof.Signed, error) {
			return iss.Sign(ctx, b.experienceCredential(iss, items[i].uuid, req.Learner, &req.Experiences[i], statuses[i], now), format, now)
		})
		if err != nil {
			return err
		}
		creds := make([]*store.Credential, 0, len(items))
		for i := range items {
			e, it := &req.Experiences[i], &items[i]
			creds = append(creds, &store.Credential{ID: it.credURL, LearnerID: req.Learner.ID, Issuer: iss.DID,
				Type: model.TypeAchievementCredential, Format: signed[i].StoreFormat, Data: signed[i].Data,
				Source: store.SourceIssued, CreatedAt: now, UpdatedAt: now})
			resp.Records = append(resp.Records, IssuedRecord{RecordID: it.recID, Kind: e.Kind, Title: e.Title,
				Credential: issuedCredential(it.credURL, model.TypeAchievementCredential, signed[i])})
		}
		if err := tx.InsertCredentials(ctx, creds); err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			if err := tx.CreateLearningRecord(ctx, &store.LearningRecord{ID: it.recID, LearnerID: req.Learner.ID, Issuer: iss.Name,
				Kind: req.Experiences[i].Kind, Data: it.data, CredentialIDs: []string{it.credURL}, CreatedAt: now}); err != nil {
				return err
			}
		}
		compact = encodeIssueResponse(&resp, false)
		if idemKey != "" {
			err := tx.PutIdempotency(ctx, &store.IdempotencyRecord{ClientID: clientID, Key: idemKey, RequestHash: hash,
				StatusCode: http.StatusCreated, Response: compact, CreatedAt: now})
			if errors.Is(err, store.ErrConflict) {
				return errReplayRace
			}
			if err != nil {
				return err
			}
		}
		issued = len(items)
		return nil
	})
	if errors.Is(err, errReplayRace) {
		if out, err := s.replay(ctx, clientID, idemKey, hash, full); out != nil || err != nil {
			return out, err
		}
		return nil, fmt.Errorf("idempotency key %q: stored concurrently but not readable", idemKey)
	}
	if err != nil {
		return nil, err
	}
	if s.Metrics != nil {
		s.Metrics.CredentialsIssued.WithLabelValues(model.TypeAchievementCredential, format).Add(float64(issued))
	}
	body = compact
	if full {
		body = encodeIssueResponse(&resp, true)
	}
	return &Outcome{Status: http.StatusCreated, Body: body}, nil
}

// signEach returns sign(0), ..., sign(n-1), computed by up to GOMAXPROCS
// goroutines; the first error (by index) wins.
func signEach(n int, sign func(i int) (*proof.Signed, error)) ([]*proof.Signed, error) {
	out := make([]*proof.Signed, n)
	errs := make([]error, n)
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			if out[i], errs[i] = sign(i); errs[i] != nil {
				return nil, errs[i]
			}
		}
		return out, nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				out[i], errs[i] = sign(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replay returns the stored outcome of an idempotency key, nil if unused.
func (s *Service) replay(ctx context.Context, clientID, key, hash string, full bool) (*Outcome, error) {
	rec, err := s.Store.GetIdempotency(ctx, clientID, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.RequestHash != hash {
		return nil, fmt.Errorf("%w: key %q", ErrIdempotencyMismatch, key)
	}
	out := &Outcome{Status: rec.StatusCode, Body: rec.Response, Replayed: true}
	if !full || rec.StatusCode != http.StatusCreated {
		return out, nil
	}
	var resp IssueResponse
	if err := json.Unmarshal(rec.Response, &resp); err != nil {
		return nil, fmt.Errorf("idempotency key %q: stored response unreadable: %w", key, err)
	}
	for i := range resp.Records {
		c := &resp.Records[i].Credential
		stored, err := s.Store.GetCredential(ctx, resp.Learner, c.ID)
		if err != nil {
			return nil, fmt.Errorf("idempotency key %q: credential %s: %w", key, c.ID, err)
		}
		c.Credential = rawCredential(stored.Format, stored.Data)
	}
	out.Body = encodeIssueResponse(&resp, true)
	return out, nil
}

// rawCredential is a stored credential as a JSON value of a response.
func rawCredential(format string, data []byte) json.RawMessage {
	if format == store.FormatJWS {
		if compactAlphabet(data) {
			// Nothing to escape: the quoted bytes are what json.Marshal
			// would write, without its scan of the whole JWS.
			q := make([]byte, 0, len(data)+2)
			q = append(q, '"')
			q = append(q, data...)
			return append(q, '"')
		}
		q, _ := json.Marshal(string(data))
		return q
	}
	return json.RawMessage(data)
}

// compactAlphabet reports whether b is only base64url characters and dots,
// the alphabet of a compact JWS.
func compactAlphabet(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func issuedCredential(id, typ string, signed *proof.Signed) IssuedCredential {
	return IssuedCredential{ID: id, Type: typ, Format: signed.Format, Credential: rawCredential(signed.StoreFormat, signed.Data)}
}

// CLRRequest asks for a learner's ClrCredential.
type CLRRequest struct {
	Issuer string `json:"issuer,omitempty"`
	Format string `json:"format,omitempty"`
	// Credentials, if set, are the ids of the learner's credentials to
	// include: a partial CLR. Empty means every unrevoked credential.
	Credentials []string `json:"credentials,omitempty"`
}

// AssembleCLR signs and stores a ClrCredential of the learner's credentials
// issued by this issuer, with the framework layer of every framework the
// included experiences were assessed against.
func (s *Service) AssembleCLR(ctx context.Context, learnerID string, req *CLRRequest) (*IssuedCredential, error) {
	iss, err := s.issuer(req.Issuer)
	if err != nil {
		return nil, err
	}
	format, err := s.format(iss, req.Format)
	if err != nil {
		return nil, err
	}
	records, err := s.Store.ListLearningRecords(ctx, learnerID)
	if err != nil {
		return nil, err
	}
	type item struct {
		rec  *store.LearningRecord
		data recordData
		cred *store.Credential
	}
	var all []item
	for _, r := range records {
		if r.Issuer != iss.Name || len(r.CredentialIDs) == 0 {
			continue
		}
		var d recordData
		if err := json.Unmarshal(r.Data, &d); err != nil {
			return nil, fmt.Errorf("learning record %s: %w", r.ID, err)
		}
		c, err := s.Store.GetCredential(ctx, learnerID, r.CredentialIDs[0])
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted by the learner through the CLR API
		}
		if err != nil {
			return nil, err
		}
		st, err := s.Store.GetCredentialStatus(ctx, c.ID)
		if err == nil && st.Revoked {
			if slices.Contains(req.Credentials, c.ID) {
				return nil, fmt.Errorf("%w: credentials: %s is revoked", ErrInvalid, c.ID)
			}
			continue
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		all = append(all, item{r, d, c})
	}
	selected := all
	partial := false
	if len(req.Credentials) > 0 {
		want := map[string]bool{}
		for _, id := range req.Credentials {
			want[id] = true
		}
		selected = nil
		for _, it := range all {
			if want[it.cred.ID] {
				selected = append(selected, it)
				delete(want, it.cred.ID)
			}
		}
		if len(want) > 0 {
			missing := make([]string, 0, len(want))
			for id := range want {
				missing = append(missing, id)
			}
			sort.Strings(missing)
			return nil, fmt.Errorf("%w: credentials: %s not among the learner's credentials from issuer %s", ErrInvalid, strings.Join(missing, ", "), iss.Name)
		}
		partial = len(selected) < len(all)
	}
	if len(selected) == 0 {
		return nil, ErrNothingToAssemble
	}
	sort.SliceStable(selected, func(i, j int) bool {
		a, b := selected[i], selected[j]
		if !a.rec.CreatedAt.Equal(b.rec.CreatedAt) {
			return a.rec.CreatedAt.Before(b.rec.CreatedAt)
		}
		return a.data.Index < b.data.Index
	})

	learner := selected[len(selected)-1].data.Learner
	embedded := make([]any, 0, len(selected)+1)
	parts := map[string]*frameworkPart{}
	assessmentAchievements := map[string]bool{}
	for _, it := range selected {
		obj, err := CredentialJSON(it.cred)
		if err != nil {
			return nil, err
		}
		// An embedded credential keeps a proof of its own. The CLR schema
		// wants embedded credentials as JSON objects, so a VC-JWT credential
		// is embedded as the same credential with a Data Integrity proof
		// when the issuer has that format, and as its compact JWS otherwise.
		switch {
		case it.cred.Format != store.FormatJWS:
			embedded = append(embedded, obj)
		case iss.HasFormat(proof.FormatDataIntegrity):
			signed, err := iss.Sign(ctx, obj, proof.FormatDataIntegrity, s.Now().UTC())
			if err != nil {
				return nil, err
			}
			embedded = append(embedded, signed.JSON)
		default:
			embedded = append(embedded, string(it.cred.Data))
		}
		achID := achievementID(obj)
		if it.data.Experience.Kind == KindCompetencyAssessment {
			assessmentAchievements[achID] = true
		}
		for _, c := range it.data.Experience.Competencies {
			l, ok := s.Frameworks[c.Framework]
			if !ok {
				continue // framework withdrawn from configuration: keep the evidence, skip the layer
			}
			p := parts[c.Framework]
			if p == nil {
				p = &frameworkPart{layer: l}
				parts[c.Framework] = p
			}
			p.assessments = append(p.assessments, framework.Assessment{Competency: c.Competency, Level: c.Level, EvidenceAchievement: achID})
		}
	}
	partList := make([]frameworkPart, 0, len(parts))
	for _, p := range parts {
		partList = append(partList, *p)
	}
	sort.Slice(partList, func(i, j int) bool { return partList[i].layer.Name() < partList[j].layer.Name() })

	now := s.Now().UTC()
	b := builder{urls: s.URLs, frameworks: s.Frameworks}
	// Embedded summary credentials are JSON objects with Data Integrity
	// proofs when the issuer has that format (see above).
	embedFormat := format
	if iss.HasFormat(proof.FormatDataIntegrity) {
		embedFormat = proof.FormatDataIntegrity
	}
	var out *IssuedCredential
	issued := map[string]int{}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		issued = map[string]int{}
		emb := slices.Clone(embedded)
		var creds []*store.Credential
		for _, p := range partList {
			uuid := NewUUID()
			credURL := s.URLs.Credential(uuid)
			st, err := s.Status.Allocate(ctx, tx, iss.Name, credURL, now)
			if err != nil {
				return err
			}
			sc, err := b.summaryCredential(iss, uuid, learner, p, st, now)
			if err != nil {
				return err
			}
			signed, err := iss.Sign(ctx, sc, embedFormat, now)
			if err != nil {
				return err
			}
			if signed.StoreFormat == store.FormatJWS {
				emb = append(emb, string(signed.Data))
			} else {
				emb = append(emb, signed.JSON)
			}
			creds = append(creds, &store.Credential{ID: credURL, LearnerID: learnerID, Issuer: iss.DID, Type: model.TypeAchievementCredential,
				Format: signed.StoreFormat, Data: signed.Data, Source: store.SourceIssued, CreatedAt: now, UpdatedAt: now})
			issued[model.TypeAchievementCredential+"\x00"+embedFormat]++
		}
		uuid := NewUUID()
		credURL := s.URLs.Credential(uuid)
		st, err := s.Status.Allocate(ctx, tx, iss.Name, credURL, now)
		if err != nil {
			return err
		}
		clr := b.clrCredential(iss, uuid, learner, emb, partList, assessmentAchievements, partial, st, now)
		signed, err := iss.Sign(ctx, clr, format, now)
		if err != nil {
			return err
		}
		creds = append(creds, &store.Credential{ID: credURL, LearnerID: learnerID, Issuer: iss.DID, Type: model.TypeClrCredential,
			Format: signed.StoreFormat, Data: signed.Data, Source: store.SourceIssued, CreatedAt: now, UpdatedAt: now})
		issued[model.TypeClrCredential+"\x00"+format]++
		if err := tx.InsertCredentials(ctx, creds); err != nil {
			return err
		}
		ic := issuedCredential(credURL, model.TypeClrCredential, signed)
		out = &ic
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.Metrics != nil {
		for k, n := range issued {
			t, f, _ := strings.Cut(k, "\x00")
			s.Metrics.CredentialsIssued.WithLabelValues(t, f).Add(float64(n))
		}
	}
	return out, nil
}

func achievementID(cred map[string]any) string {
	subj, _ := cred["credentialSubject"].(map[string]any)
	ach, _ := subj["achievement"].(map[string]any)
	id, _ := ach["id"].(string)
	return id
}

// CredentialJSON returns a stored credential as a JSON object: as stored for
// JSON, the credential in the JWS payload for VC-JWT (the "vc" claim of a
// VC 1.1-style JWT, or the payload itself for VC 2.0 JOSE, without the JWT
// registered claims).
func CredentialJSON(c *store.Credential) (map[string]any, error) {
	if c.Format != store.FormatJWS {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(c.Data))
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("credential %s: %w", c.ID, err)
		}
		return m, nil
	}
	return JWSPayloadCredential(string(c.Data))
}

// JWSPayloadCredential decodes (without verifying) the credential carried
// by a compact JWS.
func JWSPayloadCredential(jws string) (map[string]any, error) {
	parts := strings.Split(strings.TrimSpace(jws), ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("JWS payload: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("JWS payload: %w", err)
	}
	if vc, ok := m["vc"].(map[string]any); ok {
		return vc, nil
	}
	if _, ok := m["@context"]; ok {
		for _, k := range []string{"iss", "sub", "jti", "nbf", "exp", "iat", "aud"} {
			delete(m, k)
		}
	}
	return m, nil
}

// encodeIssueResponse writes the response by hand: the credentials are
// already JSON (or a JWS string), and encoding/json would re-validate and
// compact every RawMessage, which costs as much as the signing.
func encodeIssueResponse(r *IssueResponse, withCredentials bool) []byte {
	size := 128
	for _, rec := range r.Records {
		size += len(rec.Credential.Credential) + 256
	}
	b := make([]byte, 0, size)
	str := func(s string) {
		q, _ := json.Marshal(s)
		b = append(b, q...)
	}
	b = append(b, `{"learner":`...)
	str(r.Learner)
	b = append(b, `,"issuer":`...)
	str(r.Issuer)
	b = append(b, `,"records":[`...)
	for i, rec := range r.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"recordId":`...)
		str(rec.RecordID)
		b = append(b, `,"kind":`...)
		str(rec.Kind)
		b = append(b, `,"title":`...)
		str(rec.Title)
		b = append(b, `,"credential":{"id":`...)
		str(rec.Credential.ID)
		b = append(b, `,"type":`...)
		str(rec.Credential.Type)
		b = append(b, `,"format":`...)
		str(rec.Credential.Format)
		if withCredentials {
			b = append(b, `,"credential":`...)
			b = append(b, rec.Credential.Credential...)
		}
		b = append(b, "}}"...)
	}
	return append(b, "]}\n"...)
}
