package clrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/learnerrecords/clr-operator/internal/imsx"
)

// getProfile is getProfile: the learner's stored Profile byte for byte, or,
// for a learner who never set one, a minimal Profile naming the learner.
func (a *API) getProfile(w http.ResponseWriter, r *http.Request) {
	learnerID, ok := learner(w, r)
	if !ok || !acceptsJSON(w, r) {
		return
	}
	l, err := a.store.EnsureLearner(r.Context(), learnerID, a.now().UTC())
	if err != nil {
		a.log.Error("reading profile", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the profile could not be read")
		return
	}
	body := []byte(l.Profile)
	if len(bytes.TrimSpace(body)) == 0 || string(bytes.TrimSpace(body)) == "{}" {
		body, err = json.Marshal(map[string]any{
			"@context": []string{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
			"id":       a.learnerURL(learnerID),
			"type":     []string{"Profile"},
		})
		if err != nil {
			imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the profile could not be encoded")
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// putProfile is putProfile: replaces the learner's Profile.
func (a *API) putProfile(w http.ResponseWriter, r *http.Request) {
	learnerID, ok := learner(w, r)
	if !ok {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/json" && mt != "application/ld+json") {
		imsx.Write(w, http.StatusUnsupportedMediaType, imsx.InvalidData, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxProfileBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			imsx.Write(w, http.StatusRequestEntityTooLarge, imsx.InvalidData, fmt.Sprintf("the profile is larger than %d bytes", maxProfileBytes))
			return
		}
		imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, "the body could not be read")
		return
	}
	if err := checkProfile(body); err != nil {
		imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, err.Error())
		return
	}
	if _, err := a.store.PutLearnerProfile(r.Context(), learnerID, json.RawMessage(body), a.now().UTC()); err != nil {
		a.log.Error("storing profile", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the profile could not be stored")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// checkProfile enforces what the Profile schema requires (id, a type
// including Profile) and the types of the common fields.
func checkProfile(body []byte) error {
	if !utf8.Valid(body) || bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return errors.New("the body must be UTF-8 JSON without a byte order mark")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return errors.New("the body is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body has data after the JSON object")
	}
	var id string
	if err := json.Unmarshal(doc["id"], &id); err != nil || id == "" {
		return errors.New("the profile needs an id (a URI)")
	}
	if u, err := url.Parse(id); err != nil || u.Scheme == "" {
		return errors.New("the profile id must be a URI")
	}
	var types []string
	var one string
	if json.Unmarshal(doc["type"], &one) == nil {
		types = []string{one}
	} else if json.Unmarshal(doc["type"], &types) != nil {
		return errors.New("type must be a string or an array of strings")
	}
	if !slices.Contains(types, "Profile") {
		return errors.New("the profile's type must include Profile")
	}
	for _, f := range []string{"name", "email", "phone", "description", "url", "givenName", "familyName"} {
		if raw, ok := doc[f]; ok {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				var lang map[string]string
				if json.Unmarshal(raw, &lang) != nil {
					return fmt.Errorf("%s must be a string", f)
				}
			}
		}
	}
	return nil
}

// learnerURL is the id of a learner's default profile.
func (a *API) learnerURL(learnerID string) string {
	return a.opts.PublicURL + "/learners/" + url.PathEscape(learnerID)
}
