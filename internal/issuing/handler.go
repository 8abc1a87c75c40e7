package issuing

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Paths of the issuing API, relative to the server's base path.
const (
	PathPrefix    = "/issuing/v1"
	PathRecords   = PathPrefix + "/records"
	PathBulk      = PathPrefix + "/records/bulk"
	PathLearner   = PathPrefix + "/learners/{learner}"
	PathLearnerCL = PathLearner + "/clr"
	PathMyCLR     = PathPrefix + "/me/clr"
)

// Limits of request bodies.
const (
	// DefaultMaxBody bounds a single issuing request (serverconfig's
	// maxBodyBytes overrides it).
	DefaultMaxBody = 4 << 20
	// MaxLineBytes bounds one line of a bulk NDJSON body.
	MaxLineBytes = 4 << 20
	// bulkLineTimeout bounds reading, issuing and answering one bulk line.
	bulkLineTimeout = 2 * time.Minute
)

// Authorizer protects resource handlers: *oauth.Server implements it.
type Authorizer interface {
	Require(next http.Handler, scopes ...string) http.Handler
}

// Handler serves the issuing API.
type Handler struct {
	svc      *Service
	auth     Authorizer
	base     string
	maxBody  int64
	log      *slog.Logger
	bulkSize int // max lines per bulk request; 0 = unlimited
}

// NewHandler returns the issuing API over svc. basePath is the server's
// path prefix ("" at the root).
func NewHandler(svc *Service, auth Authorizer, basePath string, maxBody int64, log *slog.Logger) *Handler {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, auth: auth, base: basePath, maxBody: maxBody, log: log}
}

// Register mounts the routes (app.Handler).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST "+h.base+PathRecords, h.auth.Require(http.HandlerFunc(h.postRecords), oauth.ScopeIssue))
	mux.Handle("POST "+h.base+PathBulk, h.auth.Require(http.HandlerFunc(h.postBulk), oauth.ScopeIssue))
	mux.Handle("GET "+h.base+PathLearner+"/records", h.auth.Require(http.HandlerFunc(h.getRecords), oauth.ScopeRecordsRead))
	mux.Handle("POST "+h.base+PathLearnerCL, h.auth.Require(http.HandlerFunc(h.postCLR), oauth.ScopeIssue))
	mux.Handle("POST "+h.base+PathMyCLR, h.auth.Require(http.HandlerFunc(h.postMyCLR), oauth.ScopeCredentialReadonly))
}

func principal(r *http.Request) *oauth.Principal {
	p, _ := oauth.PrincipalFrom(r.Context())
	if p == nil {
		return &oauth.Principal{}
	}
	return p
}

// decodeJSON reads one JSON object body, refusing unknown fields (a typo
// must not silently drop learning from a transcript) and trailing data.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body is not a valid JSON request: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body has data after the JSON object", ErrInvalid)
	}
	return nil
}

func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		imsx.Write(w, http.StatusUnsupportedMediaType, imsx.InvalidData, "Content-Type must be application/json")
		return nil, false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			imsx.Write(w, http.StatusRequestEntityTooLarge, imsx.InvalidData, fmt.Sprintf("body larger than %d bytes", h.maxBody))
		} else {
			imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, "could not read the request body")
		}
		return nil, false
	}
	return data, true
}

func (h *Handler) postRecords(w http.ResponseWriter, r *http.Request) {
	data, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var req IssueRequest
	if err := decodeJSON(data, &req); err != nil {
		h.writeError(w, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = req.IdempotencyKey
	}
	out, err := h.svc.Issue(r.Context(), principal(r).ClientID, key, &req, true)
	if err != nil {
		h.writeError(w, err)
		return
	}
	if out.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeRaw(w, out.Status, out.Body)
}

// BulkResult is one line of the bulk response.
type BulkResult struct {
	// Line is the 1-based line number of the request body.
	Line           int    `json:"line"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	Status         int    `json:"status"`
	// Replayed: the key was issued before; Result is the stored outcome.
	Replayed bool             `json:"replayed,omitempty"`
	Result   json.RawMessage  `json:"result,omitempty"`
	Error    *imsx.StatusInfo `json:"error,omitempty"`
}

// postBulk issues NDJSON: one IssueRequest per line, each with its own
// idempotency key and its own transaction, answering one BulkResult per
// line as soon as it is done (the response streams while the body is read).
func (h *Handler) postBulk(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "application/jsonl") && !strings.HasPrefix(ct, "application/json") {
		imsx.Write(w, http.StatusUnsupportedMediaType, imsx.InvalidData, "Content-Type must be application/x-ndjson")
		return
	}
	rc := http.NewResponseController(w)
	// HTTP/1.1 responses normally start only after the body is read; full
	// duplex lets results stream while the client is still sending.
	_ = rc.EnableFullDuplex()
	br := bufio.NewReaderSize(r.Body, 64<<10)
	clientID := principal(r).ClientID
	// Results carry credential ids only, unless ?include=credentials: a
	// bulk run of 100,000 credentials need not stream them all back.
	full := r.URL.Query().Get("include") == "credentials"
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for line := 1; ; line++ {
		// A bulk stream outlives the server's per-request timeouts; each
		// line gets its own window instead, so a stalled client still
		// times out.
		_ = rc.SetReadDeadline(time.Now().Add(bulkLineTimeout))
		_ = rc.SetWriteDeadline(time.Now().Add(bulkLineTimeout))
		raw, err := readLine(br, MaxLineBytes)
		if err == io.EOF && len(raw) == 0 {
			return
		}
		res := BulkResult{Line: line}
		if errors.Is(err, errLineTooLong) {
			res.Status = http.StatusRequestEntityTooLarge
			info := imsx.New(res.Status, imsx.InvalidData, fmt.Sprintf("line longer than %d bytes", MaxLineBytes))
			res.Error = &info
			_ = enc.Encode(res)
			return // the rest of the stream cannot be resynchronised reliably
		} else if err != nil && err != io.EOF {
			h.log.Warn("bulk issuance: reading body", "err", err)
			return
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			if err == io.EOF {
				return
			}
			continue
		}
		h.bulkLine(r, clientID, raw, full, &res)
		if encErr := enc.Encode(res); encErr != nil {
			return
		}
		_ = rc.Flush()
		if err == io.EOF {
			return
		}
	}
}

func (h *Handler) bulkLine(r *http.Request, clientID string, raw []byte, full bool, res *BulkResult) {
	var req IssueRequest
	fail := func(err error) {
		status, code, desc := h.classify(err)
		res.Status = status
		info := imsx.New(status, code, desc)
		res.Error = &info
	}
	if err := decodeJSON(raw, &req); err != nil {
		fail(err)
		return
	}
	res.IdempotencyKey = req.IdempotencyKey
	if req.IdempotencyKey == "" {
		fail(fmt.Errorf("%w: idempotencyKey is required on every bulk line", ErrInvalid))
		return
	}
	out, err := h.svc.Issue(r.Context(), clientID, req.IdempotencyKey, &req, full)
	if err != nil {
		fail(err)
		return
	}
	res.Status, res.Replayed, res.Result = out.Status, out.Replayed, json.RawMessage(out.Body)
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its newline; io.EOF with the last
// (unterminated) line.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > max {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			return bytes.TrimRight(out, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return out, err
		}
	}
}

// RecordSummary is one learning record in GET .../records.
type RecordSummary struct {
	ID          string          `json:"id"`
	Issuer      string          `json:"issuer"`
	Kind        string          `json:"kind"`
	Credentials []string        `json:"credentials"`
	CreatedAt   string          `json:"createdAt"`
	Record      json.RawMessage `json:"record"`
}

func (h *Handler) getRecords(w http.ResponseWriter, r *http.Request) {
	recs, err := h.svc.Store.ListLearningRecords(r.Context(), r.PathValue("learner"))
	if err != nil {
		h.writeError(w, err)
		return
	}
	out := make([]RecordSummary, 0, len(recs))
	for _, rec := range recs {
		out = append(out, RecordSummary{ID: rec.ID, Issuer: rec.Issuer, Kind: rec.Kind, Credentials: rec.CredentialIDs,
			CreatedAt: rec.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), Record: rec.Data})
	}
	writeJSON(w, http.StatusOK, map[string]any{"learner": r.PathValue("learner"), "records": out})
}

func (h *Handler) postCLR(w http.ResponseWriter, r *http.Request) {
	h.clr(w, r, r.PathValue("learner"))
}

// postMyCLR lets a learner (authorization code token) assemble a CLR of the
// parts she chooses, to share it.
func (h *Handler) postMyCLR(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p.LearnerID == "" {
		imsx.Write(w, http.StatusForbidden, imsx.Forbidden, "this endpoint needs a learner's token (authorization code grant)")
		return
	}
	h.clr(w, r, p.LearnerID)
}

func (h *Handler) clr(w http.ResponseWriter, r *http.Request, learner string) {
	data, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var req CLRRequest
	if len(bytes.TrimSpace(data)) > 0 {
		if err := decodeJSON(data, &req); err != nil {
			h.writeError(w, err)
			return
		}
	}
	out, err := h.svc.AssembleCLR(r.Context(), learner, &req)
	if err != nil {
		h.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// classify maps an error to status, code minor and a client-safe message.
func (h *Handler) classify(err error) (int, imsx.CodeMinor, string) {
	switch {
	case errors.Is(err, ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity, imsx.InvalidData, err.Error()
	case errors.Is(err, ErrInvalid):
		return http.StatusUnprocessableEntity, imsx.InvalidData, err.Error()
	case errors.Is(err, ErrNothingToAssemble):
		return http.StatusNotFound, imsx.NotFound, "the learner has no unrevoked credentials from this issuer"
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, imsx.NotFound, "not found"
	}
	h.log.Error("issuing: request failed", "err", err)
	return http.StatusInternalServerError, imsx.InternalServerError, "the credentials could not be issued; nothing was stored"
}

func (h *Handler) writeError(w http.ResponseWriter, err error) {
	status, code, desc := h.classify(err)
	imsx.Write(w, status, code, desc)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "response could not be encoded")
		return
	}
	writeRaw(w, status, buf.Bytes())
}
