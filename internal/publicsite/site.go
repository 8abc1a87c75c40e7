// Package publicsite serves clr-server's public, unauthenticated side: the
// issuers' DID documents and JWKS, issuer Profiles, achievement and
// framework documents (so every id in an issued credential resolves), and
// the human-readable verification page of a credential behind an
// unguessable share link, together with the API that creates and withdraws
// share links.
package publicsite

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/credential/verify"
	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/proof"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Authorizer protects resource handlers: *oauth.Server implements it.
type Authorizer interface {
	Require(next http.Handler, scopes ...string) http.Handler
}

// Options configure a Site.
type Options struct {
	// BasePath is the server's path prefix ("" at the root).
	BasePath string
	// ShareLinkKey keys the hashes of share link tokens (32+ bytes).
	ShareLinkKey []byte
	// ContextsDir holds the pinned JSON-LD contexts for verification.
	ContextsDir string
	Logger      *slog.Logger
	Now         func() time.Time
	// Verifications counts page verifications by result and reason; may be nil.
	Verifications *prometheus.CounterVec
}

// Site is the public side.
type Site struct {
	host     *issuing.Host
	store    store.Store
	auth     Authorizer
	opts     Options
	u        *url.URL
	resolver *resolve.Resolver
	verifier *verify.Verifier
	log      *slog.Logger
}

// New builds the site over the issuing host.
func New(host *issuing.Host, auth Authorizer, opts Options) (*Site, error) {
	if len(opts.ShareLinkKey) < 32 {
		return nil, errors.New("publicsite: the share link key must be at least 32 bytes")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	u, err := url.Parse(host.PublicURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("publicsite: public URL is not an absolute URL")
	}
	s := &Site{host: host, store: host.Issuing.Store, auth: auth, opts: opts, u: u, log: opts.Logger}
	// Offline: the page verifies this host's own credentials against its
	// own DID documents and status lists, read directly rather than over
	// the network (no SSRF surface, works behind any ingress).
	s.resolver = &resolve.Resolver{Offline: true, Local: s.local, CacheTTL: -1}
	s.verifier, err = verify.New(verify.Options{
		Loader:        jsonld.NewLoader(opts.ContextsDir),
		Canonicalizer: host.Core.Suite().Canonicalizer(),
		Resolver:      s.resolver,
		// A host issuing several status entries verifies its own
		// credentials (and accepts such sets from others) with a warning.
		AllowStatusSet: host.Status != nil && host.Status.AllEntries,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// DecodeKey decodes a base64 secret from the internal secrets file (raw
// bytes if it is not base64).
func DecodeKey(v string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b
		}
	}
	return []byte(v)
}

// Resolver is the site's offline resolver (this host's documents only).
func (s *Site) Resolver() *resolve.Resolver { return s.resolver }

// Verifier verifies with the offline resolver.
func (s *Site) Verifier() *verify.Verifier { return s.verifier }

// Register mounts the routes (app.Handler).
func (s *Site) Register(mux *http.ServeMux) {
	b := s.opts.BasePath
	mux.HandleFunc("GET "+b+"/.well-known/did.json", s.didDocument)
	mux.HandleFunc("GET "+b+"/issuers/{issuer}/did.json", s.didDocument)
	if b != "" {
		mux.HandleFunc("GET "+b+"/did.json", s.didDocument)
	}
	mux.HandleFunc("GET "+b+"/.well-known/jwks.json", s.jwks)
	mux.HandleFunc("GET "+b+"/issuers/{issuer}", s.profile)
	mux.HandleFunc("GET "+b+"/credentials/{id}", s.credential)
	mux.HandleFunc("GET "+b+"/achievements/{id}", s.achievement)
	mux.HandleFunc("GET "+b+"/frameworks/{fw}", s.framework)
	mux.HandleFunc("GET "+b+"/frameworks/{fw}/competencies/{id}", s.competency)
	mux.HandleFunc("GET "+b+"/frameworks/{fw}/levels/{id}", s.level)
	mux.HandleFunc("GET "+b+"/share/{token}", s.page)
	s.registerShareAPI(mux)
}

func (s *Site) issuers() []*proof.Issuer {
	out := make([]*proof.Issuer, 0, len(s.host.Issuers))
	for _, iss := range s.host.Issuers {
		out = append(out, iss)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// didDocumentFor returns the DID document served at path (relative to the
// host root), if any.
func (s *Site) didDocumentFor(path string) (map[string]any, bool, error) {
	for _, iss := range s.issuers() {
		if p, ok := didWebPath(iss.DID, s.u.Host); ok && p == path {
			doc, err := DIDDocument(iss)
			return doc, true, err
		}
	}
	// did:web:host is at /.well-known/did.json; with a path prefix the host
	// DID is did:web:host:prefix, whose document is at /prefix/did.json.
	if path == s.opts.BasePath+"/.well-known/did.json" || (s.opts.BasePath != "" && path == s.opts.BasePath+"/did.json") {
		doc, err := s.hostDIDDocument()
		return doc, err == nil, err
	}
	return nil, false, nil
}

// hostDIDDocument is served at /.well-known/did.json when no issuer uses the
// bare host DID: the host's own did:web, controlling every issuer key it
// signs with, and naming the issuer DIDs (alsoKnownAs is deliberately not
// used: the host is not the issuers).
func (s *Site) hostDIDDocument() (map[string]any, error) {
	parts := []string{"did:web", strings.ReplaceAll(s.u.Host, ":", "%3A")}
	for _, seg := range strings.Split(strings.Trim(s.opts.BasePath, "/"), "/") {
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	did := strings.Join(parts, ":")
	var vms, refs, services []any
	for _, iss := range s.issuers() {
		for _, k := range iss.Keys().Published() {
			vm, err := verificationMethod(iss, k)
			if err != nil {
				return nil, err
			}
			vm["id"] = did + "#" + k.KID
			vm["controller"] = did
			vms = append(vms, vm)
			refs = append(refs, vm["id"])
		}
		services = append(services, map[string]any{"id": did + "#issuer-" + iss.Name, "type": "CredentialIssuer", "serviceEndpoint": s.host.PublicURL + "/issuers/" + iss.Name})
	}
	return map[string]any{"@context": didContexts, "id": did, "verificationMethod": vms, "assertionMethod": refs, "service": services}, nil
}

func (s *Site) didDocument(w http.ResponseWriter, r *http.Request) {
	doc, ok, err := s.didDocumentFor(r.URL.Path)
	if err != nil {
		s.log.Error("DID document", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "DID document unavailable")
		return
	}
	if !ok {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no DID document here")
		return
	}
	writeDoc(w, "application/did+json", doc)
}

func (s *Site) jwks(w http.ResponseWriter, _ *http.Request) {
	doc, err := JWKS(s.issuers())
	if err != nil {
		s.log.Error("JWKS", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "JWKS unavailable")
		return
	}
	writeDoc(w, "application/jwk-set+json", doc)
}

func (s *Site) profile(w http.ResponseWriter, r *http.Request) {
	iss, ok := s.host.Issuers[r.PathValue("issuer")]
	if !ok {
		imsx.Write(w, http.StatusNotFound, imsx.NotFound, "no such issuer")
		return
	}
	p := iss.ProfileDocument()
	p["@context"] = obContext()
	writeDoc(w, "application/ld+json", p)
}

// obContext is the @context of the Open Badges documents served here (a new
// slice each time: documents are maps the caller may still change).
func obContext() []any {
	return []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"}
}

// issuedCredential loads the credential issued here that the request's {id}
// names, as JSON; it answers 404 itself (and returns false) otherwise.
func (s *Site) issuedCredential(w http.ResponseWriter, r *http.Request) (string, map[string]any, bool) {
	id := s.host.PublicURL + "/credentials/" + r.PathValue("id")
	c, err := s.store.GetCredentialByID(r.Context(), id)
	if err != nil || c.Source != store.SourceIssued {
		s.notFound(w, err)
		return "", nil, false
	}
	obj, err := issuing.CredentialJSON(c)
	if err != nil {
		s.notFound(w, err)
		return "", nil, false
	}
	return id, obj, true
}

// credential is what a credential's id resolves to publicly: who issued
// it, when, and its current status, but not the learner's data (that is
// shared by the learner through share links).
func (s *Site) credential(w http.ResponseWriter, r *http.Request) {
	id, obj, ok := s.issuedCredential(w, r)
	if !ok {
		return
	}
	state := "active"
	if st, err := s.store.GetCredentialStatus(r.Context(), id); err == nil {
		switch {
		case st.Revoked:
			state = "revoked"
		case st.Suspended:
			state = "suspended"
		}
	}
	doc := map[string]any{"id": id, "type": obj["type"], "issuer": obj["issuer"], "validFrom": obj["validFrom"],
		"credentialStatus": obj["credentialStatus"], "status": state}
	if v, ok := obj["validUntil"]; ok {
		doc["validUntil"] = v
	}
	if v, ok := obj["name"]; ok {
		doc["name"] = v
	}
	writeDoc(w, "application/json", doc)
}

func (s *Site) achievement(w http.ResponseWriter, r *http.Request) {
	_, obj, ok := s.issuedCredential(w, r)
	if !ok {
		return
	}
	subj, _ := obj["credentialSubject"].(map[string]any)
	ach, isObj := subj["achievement"].(map[string]any)
	if !isObj || ach["id"] != s.host.PublicURL+"/achievements/"+r.PathValue("id") {
		s.notFound(w, nil)
		return
	}
	out := map[string]any{"@context": obContext()}
	for k, v := range ach {
		out[k] = v
	}
	writeDoc(w, "application/ld+json", out)
}

func (s *Site) framework(w http.ResponseWriter, r *http.Request) {
	l, ok := s.host.Frameworks[r.PathValue("fw")]
	if !ok {
		s.notFound(w, nil)
		return
	}
	doc := l.Document(s.creator())
	doc["@context"] = obContext()
	writeDoc(w, "application/ld+json", doc)
}

func (s *Site) competency(w http.ResponseWriter, r *http.Request) {
	l, ok := s.host.Frameworks[r.PathValue("fw")]
	if !ok {
		s.notFound(w, nil)
		return
	}
	if _, ok := l.Competency(r.PathValue("id")); !ok {
		s.notFound(w, nil)
		return
	}
	doc := l.CompetencyAchievement(r.PathValue("id"), s.creator())
	doc["@context"] = obContext()
	writeDoc(w, "application/ld+json", doc)
}

func (s *Site) level(w http.ResponseWriter, r *http.Request) {
	l, ok := s.host.Frameworks[r.PathValue("fw")]
	if !ok {
		s.notFound(w, nil)
		return
	}
	for _, lv := range l.RubricLevels() {
		m := lv.(map[string]any)
		if m["id"] == l.LevelURL(r.PathValue("id")) {
			m["@context"] = obContext()
			writeDoc(w, "application/ld+json", m)
			return
		}
	}
	s.notFound(w, nil)
}

// creator is the Profile named as creator of framework achievements: the
// only issuer, or none when several issuers share the frameworks.
func (s *Site) creator() map[string]any {
	if len(s.host.Issuers) != 1 {
		return nil
	}
	for _, iss := range s.host.Issuers {
		return map[string]any{"id": iss.DID, "type": []any{"Profile"}, "name": iss.ProfileDocument()["name"]}
	}
	return nil
}

func (s *Site) notFound(w http.ResponseWriter, err error) {
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("public document", "err", err)
		imsx.Write(w, http.StatusServiceUnavailable, imsx.ServerBusy, "temporarily unavailable")
		return
	}
	imsx.Write(w, http.StatusNotFound, imsx.NotFound, "not found")
}

// local serves this host's documents to the offline resolver: issuer DIDs
// (by DID) and, by URL, DID documents, the JWKS, status lists and
// revocation lists.
func (s *Site) local(ctx context.Context, key string) ([]byte, bool) {
	if strings.HasPrefix(key, "did:") {
		for _, iss := range s.host.Issuers {
			if iss.DID == key {
				doc, err := DIDDocument(iss)
				if err != nil {
					return nil, false
				}
				b, err := json.Marshal(doc)
				return b, err == nil
			}
		}
		return nil, false
	}
	u, err := url.Parse(key)
	if err != nil || !strings.EqualFold(u.Host, s.u.Host) {
		return nil, false
	}
	path := u.Path
	switch {
	case strings.HasSuffix(path, "/did.json"):
		doc, ok, err := s.didDocumentFor(path)
		if !ok || err != nil {
			return nil, false
		}
		b, err := json.Marshal(doc)
		return b, err == nil
	case path == s.opts.BasePath+"/.well-known/jwks.json":
		doc, err := JWKS(s.issuers())
		if err != nil {
			return nil, false
		}
		b, err := json.Marshal(doc)
		return b, err == nil
	}
	if id, ok := strings.CutPrefix(path, s.opts.BasePath+"/status/"); ok {
		data, _, err := s.host.Status.ListCredential(ctx, id)
		return data, err == nil
	}
	if rest, ok := strings.CutPrefix(path, s.opts.BasePath+"/issuers/"); ok {
		if name, ok := strings.CutSuffix(rest, "/revocations"); ok {
			data, err := s.host.Status.RevocationList(ctx, name)
			return data, err == nil
		}
	}
	return nil, false
}

func writeDoc(w http.ResponseWriter, contentType string, doc any) {
	b, err := proof.Marshal(doc)
	if err != nil {
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "document could not be encoded")
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(append(b, '\n'))
}
