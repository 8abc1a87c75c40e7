package publicsite

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Share link API paths, relative to the base path.
const (
	PathMyShareLinks      = "/issuing/v1/me/share-links"
	PathLearnerShareLinks = "/issuing/v1/learners/{learner}/share-links"
)

// ShareLink is the API's view of a share link. The URL (with its token) is
// only ever returned when the link is created: the store keeps its hash.
type ShareLink struct {
	URL        string `json:"url,omitempty"`
	Credential string `json:"credential"`
	CreatedAt  string `json:"createdAt"`
	Revoked    bool   `json:"revoked,omitempty"`
}

func (s *Site) registerShareAPI(mux *http.ServeMux) {
	b := s.opts.BasePath
	learner := func(next func(http.ResponseWriter, *http.Request, string)) http.Handler {
		return s.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := oauth.PrincipalFrom(r.Context())
			if p == nil || p.LearnerID == "" {
				imsx.Write(w, http.StatusForbidden, imsx.Forbidden, "this endpoint needs a learner's token (authorization code grant)")
				return
			}
			next(w, r, p.LearnerID)
		}), oauth.ScopeCredentialReadonly)
	}
	registrar := func(next func(http.ResponseWriter, *http.Request, string)) http.Handler {
		return s.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next(w, r, r.PathValue("learner"))
		}), oauth.ScopeIssue)
	}
	mux.Handle("POST "+b+PathMyShareLinks, learner(s.createShareLink))
	mux.Handle("POST "+b+PathLearnerShareLinks, registrar(s.createShareLink))
	mux.Handle("DELETE "+b+PathMyShareLinks+"/{token}", learner(s.revokeShareLink))
	mux.Handle("DELETE "+b+PathLearnerShareLinks+"/{token}", registrar(s.revokeShareLink))
}

// shareHash is the stored form of a share token.
func (s *Site) shareHash(token string) string {
	m := hmac.New(sha256.New, s.opts.ShareLinkKey)
	m.Write([]byte("share-link\x00" + token))
	return hex.EncodeToString(m.Sum(nil))
}

// validToken filters path values before hashing: 43 base64url characters.
func validToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

func (s *Site) createShareLink(w http.ResponseWriter, r *http.Request, learnerID string) {
	var body struct {
		Credential string `json:"credential"`
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil {
		imsx.Write(w, http.StatusRequestEntityTooLarge, imsx.InvalidData, "body larger than 16 KiB")
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || strings.TrimSpace(body.Credential) == "" {
		imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, `body must be {"credential": "<credential id>"}`)
		return
	}
	if _, err := s.store.GetCredential(r.Context(), learnerID, body.Credential); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			imsx.Write(w, http.StatusNotFound, imsx.NotFound, "the learner has no credential "+body.Credential)
			return
		}
		s.log.Error("share link: credential lookup", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the share link could not be created")
		return
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the share link could not be created")
		return
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.opts.Now().UTC()
	link := &store.ShareLink{TokenHash: s.shareHash(token), LearnerID: learnerID, CredentialID: body.Credential, CreatedAt: now}
	if err := s.store.CreateShareLink(r.Context(), link); err != nil {
		s.log.Error("share link: store", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the share link could not be created")
		return
	}
	out := ShareLink{URL: s.host.PublicURL + "/share/" + token, Credential: body.Credential, CreatedAt: now.Format(time.RFC3339)}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Site) revokeShareLink(w http.ResponseWriter, r *http.Request, learnerID string) {
	token := r.PathValue("token")
	if !validToken(token) {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no such share link")
		return
	}
	h := s.shareHash(token)
	link, err := s.store.GetShareLink(r.Context(), h)
	if err != nil || link.LearnerID != learnerID {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no such share link")
		return
	}
	if err := s.store.RevokeShareLink(r.Context(), h, s.opts.Now().UTC()); err != nil && !errors.Is(err, store.ErrRevoked) {
		s.log.Error("share link: revoke", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the share link could not be withdrawn")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
