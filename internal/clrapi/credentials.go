package clrapi

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// clrType is the VC type of the credentials this API serves.
const clrType = "ClrCredential"

// compactJWS is the CompactJws pattern of the CLR 2.0 schema.
var compactJWS = regexp.MustCompile(`^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$`)

// getCredentials is getCredentials (CLR 2.0 §6.2.1).
func (a *API) getCredentials(w http.ResponseWriter, r *http.Request) {
	learnerID, ok := learner(w, r)
	if !ok || !acceptsJSON(w, r) {
		return
	}
	// The version is read before the database: see pageCache.
	var (
		key       pageKey
		version   uint64
		cacheable bool
	)
	if a.pages != nil {
		key = pageKey{learner: learnerID, rawQuery: r.URL.RawQuery}
		if version, cacheable = a.store.CredentialsVersion(learnerID); cacheable {
			if p := a.pages.get(key, version); p != nil {
				p.write(w)
				return
			}
		}
	}
	query := r.URL.Query()
	q, msg := parsePaging(query)
	if msg != "" {
		imsx.Write(w, http.StatusBadRequest, imsx.InvalidQueryParameter, msg)
		return
	}
	q.LearnerID = learnerID
	q.Type = clrType
	// The body is written by hand: json.Marshal would compact and re-escape
	// the stored JSON, and a credential must come back byte for byte. The
	// stored bytes are copied once, from the database driver straight into
	// the response buffer (JSON credentials into one, compact JWSs into
	// another, as the two arrays of the response), and the buffers are
	// pooled: a page is tens of kilobytes, and allocating and copying it
	// per request was much of the garbage collector's work under load.
	buf, jwss := bodyPool.Get().(*bytes.Buffer), bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	defer putBody(jwss)
	buf.WriteString(`{"credential":[`)
	nJSON, nJWS := 0, 0
	total, err := a.store.ListCredentialData(r.Context(), q, func(format string, data []byte) error {
		switch format {
		case store.FormatJSON:
			if nJSON > 0 {
				buf.WriteByte(',')
			}
			buf.Write(data)
			nJSON++
		case store.FormatJWS:
			if nJWS > 0 {
				jwss.WriteByte(',')
			}
			if jwsSafe(data) {
				// The compact alphabet needs no escaping: write it as is.
				jwss.WriteByte('"')
				jwss.Write(data)
				jwss.WriteByte('"')
			} else {
				// Defensive: a JWS stored by another path with stray bytes
				// (a trailing newline) must not break the JSON document.
				b, _ := json.Marshal(string(bytes.TrimSpace(data)))
				jwss.Write(b)
			}
			nJWS++
		}
		return nil
	})
	if err != nil {
		a.log.Error("listing credentials", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the credentials could not be read")
		return
	}
	buf.WriteString(`],"compactJwsString":[`)
	buf.Write(jwss.Bytes())
	buf.WriteString("]}\n")
	link := a.pageLinks(q, total, query.Get("since"))
	if cacheable {
		p := newCachedPage(key, version, buf.Bytes(), total, link)
		a.pages.put(p)
		p.write(w)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Total-Count", strconv.Itoa(total))
	if link != "" {
		h.Set("Link", link)
	}
	// With the length known, net/http sends the body as is instead of
	// framing it in chunks.
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// bodyPool recycles response buffers of GET credentials.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps a rare huge page (limit=MaxPageSize of large
// credentials) from pinning its buffer in the pool.
const maxPooledBody = 1 << 20

func putBody(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodyPool.Put(b)
}

// jwsSafe reports whether b can be written between quotes as a JSON string
// exactly as json.Marshal would write it: non-empty, and only printable
// ASCII (0x21-0x7E) other than the characters json.Marshal escapes (" \ <
// > &). Every compact JWS qualifies (its alphabet is base64url and dots);
// for any b that qualifies, json.Marshal(string(bytes.TrimSpace(b))) is
// the same bytes as the quoted b, so taking this shortcut changes no
// response. It runs over every byte of every JWS returned (about a seventh
// of GET credentials' CPU time when it went byte by byte), so it checks
// eight bytes at a time with the classic SWAR tests.
func jwsSafe(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// zero reports whether any byte of x is zero; has whether any is v.
	zero := func(x uint64) bool { return (x-ones)&^x&highs != 0 }
	has := func(x uint64, v byte) bool { return zero(x ^ ones*uint64(v)) }
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		// Non-ASCII first: the other tests assume every high bit clear.
		if x&highs != 0 ||
			(x-ones*0x21)&^x&highs != 0 || // a byte below 0x21
			has(x, 0x7f) || has(x, '"') || has(x, '\\') || has(x, '<') || has(x, '>') || has(x, '&') {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if !jsonVerbatim(c) {
			return false
		}
	}
	return true
}

// jsonVerbatim is the per-byte form of jwsSafe's test.
func jsonVerbatim(c byte) bool {
	return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// parsePaging reads limit, offset and since.
func parsePaging(v url.Values) (store.CredentialQuery, string) {
	q := store.CredentialQuery{Limit: DefaultPageSize}
	for _, p := range []string{"limit", "offset", "since"} {
		if len(v[p]) > 1 {
			return q, "the query parameter " + p + " is repeated"
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, "limit must be a positive integer"
		}
		q.Limit = min(n, MaxPageSize)
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, "offset must be a non-negative integer"
		}
		q.Offset = n
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, "since must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z"
		}
		q.Since = t.UTC()
	}
	return q, ""
}

// pageLinks is the RFC 8288 Link header: first and last always, next and
// prev when they exist.
func (a *API) pageLinks(q store.CredentialQuery, total int, since string) string {
	page := func(offset int) string {
		v := url.Values{"limit": {strconv.Itoa(q.Limit)}, "offset": {strconv.Itoa(offset)}}
		if since != "" {
			v.Set("since", since)
		}
		return a.opts.PublicURL + BasePath + "/credentials?" + v.Encode()
	}
	last := 0
	if total > 0 {
		last = (total - 1) / q.Limit * q.Limit
	}
	links := []string{fmt.Sprintf(`<%s>; rel="first"`, page(0))}
	if q.Offset+q.Limit < total {
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, page(q.Offset+q.Limit)))
	}
	if q.Offset > 0 {
		links = append(links, fmt.Sprintf(`<%s>; rel="prev"`, page(min(max(q.Offset-q.Limit, 0), last))))
	}
	links = append(links, fmt.Sprintf(`<%s>; rel="last"`, page(last)))
	return strings.Join(links, ", ")
}

// postCredentials is upsertCredential (CLR 2.0 §6.2.2): a ClrCredential as
// JSON (application/json) or as a compact JWS (text/plain), verified, then
// stored exactly as received.
func (a *API) postCredentials(w http.ResponseWriter, r *http.Request) {
	learnerID, ok := learner(w, r)
	if !ok {
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var format string
	switch {
	case err != nil:
		imsx.Write(w, http.StatusUnsupportedMediaType, imsx.InvalidData, "Content-Type must be application/json (a ClrCredential) or text/plain (a compact JWS)")
		return
	case mt == "application/json" || mt == "application/ld+json" || mt == "application/vc+ld+json":
		format = store.FormatJSON
	case mt == "text/plain":
		format = store.FormatJWS
	default:
		imsx.Write(w, http.StatusUnsupportedMediaType, imsx.InvalidData, "Content-Type must be application/json (a ClrCredential) or text/plain (a compact JWS)")
		return
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		imsx.Write(w, http.StatusUnsupportedMediaType, imsx.InvalidData, "the body must be UTF-8")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			imsx.Write(w, http.StatusRequestEntityTooLarge, imsx.InvalidData, fmt.Sprintf("the body is larger than %d bytes", a.opts.MaxBodyBytes))
			return
		}
		imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, "the body could not be read")
		return
	}
	var info credentialInfo
	if format == store.FormatJWS {
		// A trailing newline is common with text/plain; the JWS itself is
		// what is stored and returned.
		body = bytes.TrimSpace(body)
		info, err = inspectJWS(body)
	} else {
		info, err = inspectJSON(body)
	}
	if err != nil {
		imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, err.Error())
		return
	}
	if err := a.verifier.Verify(r.Context(), format, body); err != nil {
		a.log.Info("upserted credential rejected", "reason", err.Error())
		imsx.Write(w, http.StatusBadRequest, imsx.InvalidData, "the credential did not verify: "+err.Error())
		return
	}
	now := a.now().UTC()
	created, err := a.store.PutCredential(r.Context(), &store.Credential{
		ID:        info.id,
		LearnerID: learnerID,
		Issuer:    info.issuer,
		Type:      clrType,
		Format:    format,
		Data:      body,
		Source:    store.SourceUpserted,
		CreatedAt: now,
		UpdatedAt: now,
	})
	if err != nil {
		a.log.Error("storing credential", "err", err)
		imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the credential could not be stored")
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h := w.Header()
	if format == store.FormatJWS {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// credentialInfo is what the store indexes of a credential.
type credentialInfo struct {
	id, issuer string
}

// inspectJSON checks that body is one JSON ClrCredential and extracts its
// id and issuer. The full check is the verifier's.
func inspectJSON(body []byte) (credentialInfo, error) {
	if !utf8.Valid(body) || bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return credentialInfo{}, errors.New("the body must be UTF-8 JSON without a byte order mark")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		return credentialInfo{}, errors.New("the body is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return credentialInfo{}, errors.New("the body has data after the JSON object")
	}
	return credentialFields(doc)
}

// inspectJWS checks a compact JWS and reads the credential in its payload:
// either the payload itself (VC-JWT of VCDM 2.0, as Open Badges 3.0 uses it)
// or its "vc" claim (VCDM 1.1 JWTs).
func inspectJWS(body []byte) (credentialInfo, error) {
	if !compactJWS.Match(body) {
		return credentialInfo{}, errors.New("the body is not a compact JWS (header.payload.signature)")
	}
	parts := bytes.Split(body, []byte("."))
	payload, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return credentialInfo{}, errors.New("the JWS payload is not base64url")
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return credentialInfo{}, errors.New("the JWS payload is not a JSON object")
	}
	doc := claims
	if vc, ok := claims["vc"]; ok {
		if err := json.Unmarshal(vc, &doc); err != nil {
			return credentialInfo{}, errors.New("the vc claim is not a JSON object")
		}
	}
	info, err := credentialFields(doc)
	if err != nil && errors.Is(err, errNoID) {
		var jti string
		if json.Unmarshal(claims["jti"], &jti) == nil && jti != "" {
			doc["id"], _ = json.Marshal(jti)
			return credentialFields(doc)
		}
	}
	return info, err
}

var errNoID = errors.New("the credential has no id")

// credentialFields checks the type and reads id and issuer.
func credentialFields(doc map[string]json.RawMessage) (credentialInfo, error) {
	var types []string
	if raw, ok := doc["type"]; ok {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			types = []string{one}
		} else if json.Unmarshal(raw, &types) != nil {
			return credentialInfo{}, errors.New("type must be a string or an array of strings")
		}
	}
	if !slices.Contains(types, clrType) || !slices.Contains(types, "VerifiableCredential") {
		return credentialInfo{}, errors.New("the credential's type must include VerifiableCredential and ClrCredential")
	}
	var info credentialInfo
	if err := json.Unmarshal(doc["id"], &info.id); err != nil || info.id == "" {
		return credentialInfo{}, errNoID
	}
	if len(info.id) > 2048 {
		return credentialInfo{}, errors.New("the credential id is longer than 2048 characters")
	}
	if u, err := url.Parse(info.id); err != nil || u.Scheme == "" {
		return credentialInfo{}, errors.New("the credential id must be a URI")
	}
	raw := doc["issuer"]
	if json.Unmarshal(raw, &info.issuer) != nil {
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &obj) == nil {
			info.issuer = obj.ID
		}
	}
	if info.issuer == "" {
		return credentialInfo{}, errors.New("the credential has no issuer id")
	}
	if _, ok := doc["credentialSubject"]; !ok {
		return credentialInfo{}, errors.New("the credential has no credentialSubject")
	}
	return info, nil
}
