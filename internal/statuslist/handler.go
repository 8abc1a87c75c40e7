package statuslist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Paths, relative to the server's base path.
const (
	// PathChange is the institutional API: POST with {"reason": "..."};
	// action is revoke, suspend or reinstate.
	PathChange = "/issuing/v1/credentials/{id}/{action}"
	// PathGetStatus returns a credential's status.
	PathGetStatus = "/issuing/v1/credentials/{id}/status"
	// PathList serves a BitstringStatusListCredential (public).
	PathList = "/status/{list...}"
	// PathRevocationList serves an issuer's 1EdTech revocation list (public).
	PathRevocationList = "/issuers/{issuer}/revocations"
)

// maxReason bounds a revocation reason.
const maxReason = 1000

// Authorizer protects resource handlers: *oauth.Server implements it.
type Authorizer interface {
	Require(next http.Handler, scopes ...string) http.Handler
}

// Handler serves the status API and the public lists.
type Handler struct {
	svc  *Service
	auth Authorizer
	base string
	log  *slog.Logger
	// changes counts status changes by action; may be nil.
	changes interface{ Inc(action string) }
}

// NewHandler returns the handler. basePath is the server's path prefix.
func NewHandler(svc *Service, auth Authorizer, basePath string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, auth: auth, base: basePath, log: log}
}

// OnChange sets a counter of status changes by action (metrics).
func (h *Handler) OnChange(inc func(action string)) { h.changes = incFunc(inc) }

type incFunc func(string)

func (f incFunc) Inc(a string) { f(a) }

// Register mounts the routes (app.Handler).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST "+h.base+PathChange, h.auth.Require(http.HandlerFunc(h.change), oauth.ScopeRevoke))
	mux.Handle("GET "+h.base+PathGetStatus, h.auth.Require(http.HandlerFunc(h.getStatus), oauth.ScopeRevoke))
	mux.HandleFunc("GET "+h.base+PathList, h.list)
	mux.HandleFunc("GET "+h.base+PathRevocationList, h.revocationList)
}

// StatusResponse is a credential's status.
type StatusResponse struct {
	Credential string `json:"credential"`
	Status     string `json:"status"` // active, suspended, revoked
	Reason     string `json:"reason,omitempty"`
	UpdatedAt  string `json:"updatedAt,omitempty"`
}

func statusResponse(id string, st *store.CredentialStatus) StatusResponse {
	out := StatusResponse{Credential: id, Status: "active"}
	if st == nil {
		return out
	}
	switch {
	case st.Revoked:
		out.Status = "revoked"
	case st.Suspended:
		out.Status = "suspended"
	}
	out.Reason = st.Reason
	if !st.UpdatedAt.IsZero() {
		out.UpdatedAt = st.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return out
}

// credentialID turns the {id} path value (the credential's UUID, or its
// full URL escaped) into the credential id.
func (h *Handler) credentialID(v string) string {
	if strings.Contains(v, "://") {
		return v
	}
	return h.svc.Base + "/credentials/" + v
}

func (h *Handler) change(w http.ResponseWriter, r *http.Request) {
	action := Action(r.PathValue("action"))
	if action != Revoke && action != Suspend && action != Reinstate {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "unknown action: use revoke, suspend or reinstate")
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		imsx.Write(w, http.StatusRequestEntityTooLarge, imsx.InvalidData, "body larger than 64 KiB")
		return
	}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, "body must be {\"reason\": \"...\"}: "+err.Error())
			return
		}
	}
	if action != Reinstate && strings.TrimSpace(body.Reason) == "" {
		imsx.Write(w, http.StatusUnprocessableEntity, imsx.InvalidData, "reason is required to "+string(action))
		return
	}
	if len(body.Reason) > maxReason || !utf8.ValidString(body.Reason) {
		imsx.Write(w, http.StatusUnprocessableEntity, imsx.InvalidData, fmt.Sprintf("reason must be valid UTF-8 of at most %d bytes", maxReason))
		return
	}
	id := h.credentialID(r.PathValue("id"))
	st, err := h.svc.Change(r.Context(), id, action, body.Reason)
	switch {
	case errors.Is(err, store.ErrNotFound):
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no credential "+id)
		return
	case errors.Is(err, ErrNotIssuedHere):
		imsx.Write(w, http.StatusUnprocessableEntity, imsx.InvalidData, "credential "+id+" was not issued by this host")
		return
	case errors.Is(err, ErrNoSuspension):
		imsx.Write(w, http.StatusUnprocessableEntity, imsx.InvalidData, err.Error())
		return
	case errors.Is(err, ErrRevoked):
		imsx.Write(w, http.StatusConflict, imsx.InvalidData, err.Error())
		return
	case err != nil:
		h.log.Error("status change failed", "credential", id, "action", action, "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the status could not be changed; nothing was changed")
		return
	}
	if h.changes != nil {
		h.changes.Inc(string(action))
	}
	writeJSON(w, http.StatusOK, statusResponse(id, st))
}

func (h *Handler) getStatus(w http.ResponseWriter, r *http.Request) {
	id := h.credentialID(r.PathValue("id"))
	if _, err := h.svc.Store.GetCredentialByID(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no credential "+id)
			return
		}
		h.log.Error("status read failed", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "status unavailable")
		return
	}
	st, err := h.svc.Store.GetCredentialStatus(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		st, err = nil, nil
	}
	if err != nil {
		h.log.Error("status read failed", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "status unavailable")
		return
	}
	writeJSON(w, http.StatusOK, statusResponse(id, st))
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("list")
	if !IsListPath(id) {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no such status list")
		return
	}
	data, format, err := h.svc.ListCredential(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no such status list")
		return
	}
	if err != nil {
		h.log.Error("status list unavailable", "list", id, "err", err)
		imsx.Write(w, http.StatusServiceUnavailable, imsx.ServerBusy, "status list temporarily unavailable")
		return
	}
	w.Header().Set("Content-Type", ContentType(format))
	// Verifiers may cache briefly; a revocation shows within a minute.
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(data)
}

func (h *Handler) revocationList(w http.ResponseWriter, r *http.Request) {
	data, err := h.svc.RevocationList(r.Context(), r.PathValue("issuer"))
	if errors.Is(err, store.ErrNotFound) {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no such issuer")
		return
	}
	if err != nil {
		h.log.Error("revocation list unavailable", "err", err)
		imsx.Write(w, http.StatusServiceUnavailable, imsx.ServerBusy, "revocation list temporarily unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(data)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "response could not be encoded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
