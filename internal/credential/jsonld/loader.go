// Package jsonld provides the JSON-LD document loader of the credential core:
// contexts come only from a local directory, each pinned by URL to a SHA-256
// digest, so signing and verifying never touch the network and a context can
// not change under a signature. Parsed contexts are cached in memory.
package jsonld

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/piprate/json-gold/ld"
)

var (
	// ErrUnknownContext: the URL is not pinned; the loader never fetches it.
	ErrUnknownContext = errors.New("unknown JSON-LD context")
	// ErrContextMismatch: the file's digest differs from the pin.
	ErrContextMismatch = errors.New("JSON-LD context does not match its pinned SHA-256")
	// ErrContextMissing: the pinned file is absent or unreadable.
	ErrContextMissing = errors.New("pinned JSON-LD context file missing")
	// ErrContextInvalid: the file is not a JSON object with @context.
	ErrContextInvalid = errors.New("invalid JSON-LD context document")
)

// MaxContextSize bounds a context file; the largest standard one is ~15 KB.
const MaxContextSize = 1 << 20

// Loader is an ld.DocumentLoader over a pinned contexts directory. It is safe
// for concurrent use. Loaded documents are shared between callers and must
// be treated as read-only (json-gold only reads them).
type Loader struct {
	dir  string
	pins map[string]Pin

	mu    sync.RWMutex
	cache map[string]*ld.RemoteDocument
}

var _ ld.DocumentLoader = (*Loader)(nil)

// NewLoader returns a loader for dir with the StandardPins and any extra pins
// (an extra pin for a URL replaces the standard one).
func NewLoader(dir string, extra ...Pin) *Loader {
	pins := make(map[string]Pin, len(StandardPins)+len(extra))
	for _, p := range StandardPins {
		pins[p.URL] = p
	}
	for _, p := range extra {
		pins[p.URL] = p
	}
	return &Loader{dir: dir, pins: pins, cache: make(map[string]*ld.RemoteDocument)}
}

// Dir is the contexts directory.
func (l *Loader) Dir() string { return l.dir }

// Pins returns the pins of this loader.
func (l *Loader) Pins() []Pin {
	out := make([]Pin, 0, len(l.pins))
	for _, p := range l.pins {
		out = append(out, p)
	}
	return out
}

// LoadDocument implements ld.DocumentLoader.
func (l *Loader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	l.mu.RLock()
	rd, ok := l.cache[u]
	l.mu.RUnlock()
	if ok {
		return rd, nil
	}
	pin, ok := l.pins[u]
	if !ok {
		return nil, fmt.Errorf("%w: %s (contexts are never fetched while signing or verifying)", ErrUnknownContext, u)
	}
	doc, err := loadPinned(l.dir, pin)
	if err != nil {
		return nil, err
	}
	rd = &ld.RemoteDocument{DocumentURL: u, Document: doc}
	l.mu.Lock()
	l.cache[u] = rd
	l.mu.Unlock()
	return rd, nil
}

// Preload loads and checks every pinned context, so that a bad directory is
// found at start-up rather than at the first credential.
func (l *Loader) Preload() error {
	var errs []error
	for _, p := range l.Pins() {
		if _, err := l.LoadDocument(p.URL); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func loadPinned(dir string, pin Pin) (any, error) {
	path := filepath.Join(dir, pin.File)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s for %s: %v", ErrContextMissing, pin.File, pin.URL, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxContextSize+1)); err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrContextMissing, path, err)
	}
	return ParseContext(pin, buf.Bytes())
}

// ParseContext checks data against pin and parses it as a context document.
func ParseContext(pin Pin, data []byte) (any, error) {
	if len(data) > MaxContextSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrContextInvalid, pin.URL, MaxContextSize)
	}
	if err := CheckDigest(pin, data); err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrContextInvalid, pin.URL, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrContextInvalid, pin.URL)
	}
	if _, ok := m["@context"]; !ok {
		return nil, fmt.Errorf("%w: %s has no @context", ErrContextInvalid, pin.URL)
	}
	return doc, nil
}

// CheckDigest compares the SHA-256 of data with the pin.
func CheckDigest(pin Pin, data []byte) error {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != pin.SHA256 {
		return fmt.Errorf("%w: %s (%s): sha256 %s, pinned %s", ErrContextMismatch, pin.URL, pin.File, got, pin.SHA256)
	}
	return nil
}
