package publicsite

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/store"
)

//go:embed templates/page.html
var templatesFS embed.FS

var pageTemplate = template.Must(template.New("page.html").ParseFS(templatesFS, "templates/page.html"))

// page is the human-readable verification page behind a share link: the
// credential rendered for a person and verified live (signature, status,
// validity) against this host's own DID documents and status lists.
func (s *Site) page(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if !validToken(token) {
		s.render(w, pageView{Status: http.StatusNotFound, Title: "Link not found", Message: "This share link does not exist. Check that it was copied in full."})
		return
	}
	link, err := s.store.GetShareLink(r.Context(), s.shareHash(token))
	if errors.Is(err, store.ErrNotFound) {
		s.render(w, pageView{Status: http.StatusNotFound, Title: "Link not found", Message: "This share link does not exist. Check that it was copied in full."})
		return
	}
	if err != nil {
		s.log.Error("verification page: share link", "err", err)
		s.render(w, pageView{Status: http.StatusServiceUnavailable, Title: "Temporarily unavailable", Message: "The record cannot be shown right now. Please try again later."})
		return
	}
	if link.RevokedAt != nil {
		s.render(w, pageView{Status: http.StatusGone, Title: "Link withdrawn", Message: "The learner has withdrawn this share link."})
		return
	}
	c, err := s.store.GetCredential(r.Context(), link.LearnerID, link.CredentialID)
	if err != nil {
		s.render(w, pageView{Status: http.StatusGone, Title: "Record no longer available", Message: "The record this link pointed to has been removed by the learner."})
		return
	}
	cred, err := issuing.CredentialJSON(c)
	if err != nil {
		s.render(w, pageView{Status: http.StatusUnprocessableEntity, Title: "Record unreadable", Message: "The stored record could not be read."})
		return
	}
	rep := s.verifier.Verify(r.Context(), c.Data)
	reason := ""
	if st, err := s.store.GetCredentialStatus(r.Context(), c.ID); err == nil {
		reason = st.Reason
	}
	v := s.buildView(cred, rep, reason)
	if s.opts.Verifications != nil {
		result, why := "valid", "ok"
		if !rep.Verified {
			result, why = "invalid", "other"
			for _, row := range v.Verdict.Rows {
				if !row.OK {
					why = map[string]string{"Signature": "signature", "Status": "status", "Validity period": "expiry", "Structure": "structure"}[row.Name]
					break
				}
			}
		}
		s.opts.Verifications.WithLabelValues(result, why).Inc()
	}
	s.render(w, v)
}

func (s *Site) render(w http.ResponseWriter, v pageView) {
	if v.Status == 0 {
		v.Status = http.StatusOK
	}
	if v.CheckedAt == "" {
		v.CheckedAt = s.opts.Now().UTC().Format(time.RFC3339)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		s.log.Error("verification page: template", "err", err)
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No script at all; styles inline. The share token is in the URL, so
	// no referrer leaves the page, and the page is never cached or indexed.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(v.Status)
	_, _ = w.Write(buf.Bytes())
}
