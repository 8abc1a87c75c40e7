// Package signing holds each issuer's signing key as clr-server uses it: the
// private key loaded from a mounted kubernetes.io/tls Secret directory
// (tls.key, optionally tls.crt for its validity) and the published public
// keys from the operator's keyring file. Both are watched; on change the new
// key is swapped in atomically and signs from then on, while every key seen
// before stays published so credentials already issued still verify.
package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// KeyFile and CertFile are the file names of a kubernetes.io/tls Secret.
const (
	KeyFile  = "tls.key"
	CertFile = "tls.crt"
)

// Key is one loaded signing key.
type Key struct {
	Signer crypto.Signer
	// KID is the RFC 7638 thumbprint of the public key.
	KID string
	// Algorithm is Ed25519, ECDSA-P256, ECDSA-P384 or RSA-<bits>.
	Algorithm string
	// PublicJWK is the public JWK (no private members).
	PublicJWK map[string]any
	// NotBefore/NotAfter come from tls.crt when it holds a certificate for
	// this key; zero otherwise.
	NotBefore time.Time
	NotAfter  time.Time
	LoadedAt  time.Time
}

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.Signer.Public() }

// state is swapped as a whole so readers never see a key without its
// matching published set.
type state struct {
	current   *Key
	keyHash   [32]byte
	ringHash  [32]byte
	keyring   serverconfig.Keyring
	published []serverconfig.PublishedKey
	byKID     map[string]crypto.PublicKey
}

// IssuerKeys is one issuer's keys. Safe for concurrent use.
type IssuerKeys struct {
	name        string
	keyDir      string
	keyringFile string
	now         func() time.Time

	st atomic.Pointer[state]

	mu sync.Mutex // serialises reloads and guards retired
	// retired are keys this process signed with before a swap; published
	// until the operator's keyring lists them itself, so a credential signed
	// a second before a renewal keeps verifying meanwhile.
	retired []serverconfig.PublishedKey
}

// Name is the issuer's name.
func (k *IssuerKeys) Name() string { return k.name }

// Current returns the key that signs now.
func (k *IssuerKeys) Current() *Key { return k.st.Load().current }

// Published returns the public keys to publish (DID document, JWKS): the
// current key first, then retired keys newest first. The slice is shared:
// do not modify it.
func (k *IssuerKeys) Published() []serverconfig.PublishedKey { return k.st.Load().published }

// PublicKey finds a published key by kid.
func (k *IssuerKeys) PublicKey(kid string) (crypto.PublicKey, bool) {
	pub, ok := k.st.Load().byKID[kid]
	return pub, ok
}

// Reload re-reads the key and keyring files. On error the previous state is
// kept (a half-written Secret never takes signing down) and the error is
// returned. changed reports whether the current key or keyring changed.
func (k *IssuerKeys) Reload() (changed bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.st.Load()

	keyPEM, err := os.ReadFile(filepath.Join(k.keyDir, KeyFile))
	if err != nil {
		return false, fmt.Errorf("issuer %q: read signing key: %w", k.name, err)
	}
	var certPEM []byte
	if b, err := os.ReadFile(filepath.Join(k.keyDir, CertFile)); err == nil {
		certPEM = b
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("issuer %q: read %s: %w", k.name, CertFile, err)
	}
	var ringJSON []byte
	if k.keyringFile != "" {
		ringJSON, err = os.ReadFile(k.keyringFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("issuer %q: read keyring: %w", k.name, err)
		}
	}
	keyHash := sha256.Sum256(append(append([]byte{}, keyPEM...), certPEM...))
	ringHash := sha256.Sum256(ringJSON)
	if old != nil && old.keyHash == keyHash && old.ringHash == ringHash {
		return false, nil
	}

	now := k.now()
	cur := old.currentOrNil()
	if old == nil || old.keyHash != keyHash {
		cur, err = parseKey(keyPEM, certPEM, now)
		if err != nil {
			return false, fmt.Errorf("issuer %q: %s in %s: %w", k.name, KeyFile, k.keyDir, err)
		}
	}
	var ring serverconfig.Keyring
	if len(bytes.TrimSpace(ringJSON)) > 0 {
		if ring, err = parseKeyring(ringJSON, k.name); err != nil {
			return false, fmt.Errorf("issuer %q: keyring %s: %w", k.name, k.keyringFile, err)
		}
	}
	if old != nil && old.current.KID != cur.KID {
		// Remember the outgoing key as retired now (without duplicates).
		prev := old.current
		retiredAt := now
		k.retired = append([]serverconfig.PublishedKey{{
			KID: prev.KID, Algorithm: prev.Algorithm, PublicKeyJWK: prev.PublicJWK,
			NotBefore: prev.NotBefore, NotAfter: prev.NotAfter, RetiredAt: &retiredAt,
		}}, k.retired...)
	}
	st := &state{current: cur, keyHash: keyHash, ringHash: ringHash, keyring: ring}
	st.published, st.byKID = publishedSet(cur, ring, k.retired)
	k.st.Store(st)
	return true, nil
}

func (s *state) currentOrNil() *Key {
	if s == nil {
		return nil
	}
	return s.current
}

// publishedSet merges the current key, the keyring's keys and the keys this
// process retired, each kid once: current first, then retired newest first.
func publishedSet(cur *Key, ring serverconfig.Keyring, retired []serverconfig.PublishedKey) ([]serverconfig.PublishedKey, map[string]crypto.PublicKey) {
	byKID := map[string]crypto.PublicKey{cur.KID: cur.Public()}
	curPub := serverconfig.PublishedKey{
		KID: cur.KID, Algorithm: cur.Algorithm, PublicKeyJWK: cur.PublicJWK,
		NotBefore: cur.NotBefore, NotAfter: cur.NotAfter,
	}
	var others []serverconfig.PublishedKey
	add := func(p serverconfig.PublishedKey) {
		if _, dup := byKID[p.KID]; dup {
			return
		}
		pub, err := keys.ParsePublicJWK(p.PublicKeyJWK)
		if err != nil {
			return // validated when parsed; defensive
		}
		byKID[p.KID] = pub
		// A keyring entry that is not current here (e.g. a newer key this
		// replica has not loaded yet) is published as is.
		others = append(others, p)
	}
	for _, p := range ring.Keys {
		if p.KID == cur.KID {
			// The operator's record of the current key carries the
			// certificate validity when tls.crt is not mounted.
			if curPub.NotAfter.IsZero() {
				curPub.NotBefore, curPub.NotAfter = p.NotBefore, p.NotAfter
			}
			continue
		}
		add(p)
	}
	for _, p := range retired {
		add(p)
	}
	sort.SliceStable(others, func(i, j int) bool {
		return retiredTime(others[i]).After(retiredTime(others[j]))
	})
	return append([]serverconfig.PublishedKey{curPub}, others...), byKID
}

// retiredTime orders keys; a key the keyring lists without RetiredAt (not
// yet loaded here) sorts first.
func retiredTime(p serverconfig.PublishedKey) time.Time {
	if p.RetiredAt == nil {
		return time.Unix(1<<40, 0)
	}
	return *p.RetiredAt
}

func parseKey(keyPEM, certPEM []byte, now time.Time) (*Key, error) {
	signer, err := keys.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	alg, err := keys.Algorithm(signer.Public())
	if err != nil {
		return nil, err
	}
	jwk, err := keys.PublicJWK(signer.Public())
	if err != nil {
		return nil, err
	}
	kid, err := keys.JWKThumbprint(jwk)
	if err != nil {
		return nil, err
	}
	k := &Key{Signer: signer, KID: kid, Algorithm: alg, PublicJWK: jwk, LoadedAt: now}
	// tls.crt: use the first certificate whose key is ours; a certificate
	// for another key (renewal half-written) is ignored rather than trusted.
	rest := certPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		if keys.Equal(cert.PublicKey, signer.Public()) {
			k.NotBefore, k.NotAfter = cert.NotBefore.UTC(), cert.NotAfter.UTC()
			break
		}
	}
	return k, nil
}

func parseKeyring(data []byte, issuer string) (serverconfig.Keyring, error) {
	var ring serverconfig.Keyring
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ring); err != nil {
		return ring, fmt.Errorf("parse: %w", err)
	}
	if ring.Issuer != "" && ring.Issuer != issuer {
		return ring, fmt.Errorf("keyring is for issuer %q", ring.Issuer)
	}
	for i, p := range ring.Keys {
		pub, err := keys.ParsePublicJWK(p.PublicKeyJWK)
		if err != nil {
			return ring, fmt.Errorf("keys[%d].publicKeyJwk: %w", i, err)
		}
		kid, err := keys.Thumbprint(pub)
		if err != nil {
			return ring, fmt.Errorf("keys[%d].publicKeyJwk: %w", i, err)
		}
		if kid != p.KID {
			return ring, fmt.Errorf("keys[%d].kid %q is not the JWK thumbprint %q", i, p.KID, kid)
		}
	}
	return ring, nil
}

// Set is the keys of every issuer served by this host.
type Set struct {
	issuers map[string]*IssuerKeys
	names   []string
	log     *slog.Logger
	// OnChange, if set before Watch, is called after a successful reload
	// that changed an issuer's keys.
	OnChange func(issuer string, current *Key)
}

// Load loads every issuer's keys; any failure fails the whole load (the
// server must not start without a signing key). now may be nil.
func Load(issuers []serverconfig.Issuer, log *slog.Logger, now func() time.Time) (*Set, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Set{issuers: map[string]*IssuerKeys{}, log: log}
	for _, is := range issuers {
		if _, dup := s.issuers[is.Name]; dup {
			return nil, fmt.Errorf("issuer %q listed twice", is.Name)
		}
		k := &IssuerKeys{name: is.Name, keyDir: is.Signing.KeyDir, keyringFile: is.Signing.KeyringFile, now: now}
		if _, err := k.Reload(); err != nil {
			return nil, err
		}
		s.issuers[is.Name] = k
		s.names = append(s.names, is.Name)
	}
	return s, nil
}

// Issuer returns one issuer's keys.
func (s *Set) Issuer(name string) (*IssuerKeys, bool) {
	k, ok := s.issuers[name]
	return k, ok
}

// Names lists the issuers in configuration order.
func (s *Set) Names() []string { return s.names }

// Ready reports whether every issuer has a current key (always true after
// a successful Load; kept for /readyz symmetry with the store).
func (s *Set) Ready() bool {
	for _, k := range s.issuers {
		if k.Current() == nil {
			return false
		}
	}
	return len(s.issuers) > 0
}

// ReloadAll re-reads every issuer's files once, logging failures.
func (s *Set) ReloadAll() {
	for _, name := range s.names {
		k := s.issuers[name]
		changed, err := k.Reload()
		if err != nil {
			// The error names files, never key material.
			s.log.Warn("signing key reload failed; keeping the previous key", "issuer", name, "error", err.Error())
			continue
		}
		if changed {
			cur := k.Current()
			s.log.Info("signing keys reloaded", "issuer", name, "kid", cur.KID, "algorithm", cur.Algorithm,
				"published", len(k.Published()))
			if s.OnChange != nil {
				s.OnChange(name, cur)
			}
		}
	}
}

// Watch polls the files every interval until ctx ends. Polling (of content
// hashes) rather than inotify because Kubernetes updates Secret and
// ConfigMap volumes by swapping a ..data symlink, which inotify watchers on
// the files themselves miss; the files are small, so reading them is cheap.
func (s *Set) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.ReloadAll()
		}
	}
}
