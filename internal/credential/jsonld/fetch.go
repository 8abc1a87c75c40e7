package jsonld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// ErrInsecureURL: contexts are fetched over HTTPS only, redirects included.
var ErrInsecureURL = errors.New("context URL is not https")

// Fetcher downloads pinned contexts into a directory, for the image build.
// It is the only part of the credential core that touches the network.
type Fetcher struct {
	// Client defaults to an HTTPS client with a 30 s timeout that refuses
	// redirects to non-https URLs.
	Client *http.Client
	// MapURL rewrites a canonical URL before fetching (tests point it at a
	// local TLS server); nil fetches the canonical URL.
	MapURL func(string) string
}

// FetchResult is the outcome for one pin.
type FetchResult struct {
	Pin Pin
	Err error
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect to %s", ErrInsecureURL, req.URL)
			}
			return nil
		},
	}
}

// Fetch downloads every pin into dir, checks its digest and writes it
// atomically under the pin's file name. A context that does not match its
// pin is not written. It returns one result per pin and an error joining
// the failures.
func (f *Fetcher) Fetch(ctx context.Context, dir string, pins []Pin) ([]FetchResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	results := make([]FetchResult, 0, len(pins))
	var errs []error
	for _, p := range pins {
		err := f.fetchOne(ctx, dir, p)
		results = append(results, FetchResult{Pin: p, Err: err})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return results, errors.Join(errs...)
}

func (f *Fetcher) fetchOne(ctx context.Context, dir string, p Pin) error {
	target := p.URL
	if f.MapURL != nil {
		target = f.MapURL(p.URL)
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "https" {
		return fmt.Errorf("%w: %s", ErrInsecureURL, target)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", p.URL, err)
	}
	req.Header.Set("Accept", "application/ld+json, application/json;q=0.9")
	resp, err := f.client().Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", p.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: HTTP %d", p.URL, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxContextSize+1))
	if err != nil {
		return fmt.Errorf("fetch %s: %w", p.URL, err)
	}
	if _, err := ParseContext(p, data); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+p.File+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p.File, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p.File, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p.File, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p.File, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, p.File)); err != nil {
		return fmt.Errorf("write %s: %w", p.File, err)
	}
	return nil
}

// VerifyDir checks every pin against the files in dir.
func VerifyDir(dir string, pins []Pin) []FetchResult {
	out := make([]FetchResult, 0, len(pins))
	for _, p := range pins {
		_, err := loadPinned(dir, p)
		out = append(out, FetchResult{Pin: p, Err: err})
	}
	return out
}
