// Package statuslist is the server side of credential status: it allocates
// each issued credential its status list indexes (revocation and
// suspension, BitstringStatusList) through the store, inside the issuing
// transaction; it revokes, suspends and reinstates credentials with a
// reason; and it publishes each list as a signed
// BitstringStatusListCredential (re-signed when a bit changed) and each
// issuer's 1EdTech Revocation List document.
package statuslist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/status"
	"github.com/learnerrecords/clr-operator/internal/issuing/proof"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Purposes allocated for every credential.
var purposes = []string{status.PurposeRevocation, status.PurposeSuspension}

// revocationListPurpose names the store list that holds an issuer's 1EdTech
// revocation list document. The store keeps documents per status list, and
// the list row is what concurrent revocations lock (SetStatusEntry updates
// it), so read-modify-write of the document is serialised across replicas.
// It is never published as a BitstringStatusList.
const revocationListPurpose = "1edtech-revocation-list"

// revocationListHolder is the credential id the holder entry is allocated to.
const revocationListHolder = "urn:clr:revocation-list-holder"

// ListSize is the number of entries of each bitstring list (the W3C minimum,
// for herd privacy).
const ListSize = status.MinEntries

// ListValidity bounds how long verifiers may cache a list credential; the
// list is re-signed before it expires.
const ListValidity = 24 * time.Hour

// ClockSkew is how far a list credential's validFrom precedes its signing.
const ClockSkew = time.Minute

// Errors of status changes.
var (
	// ErrNotIssuedHere: only credentials issued by this host have status.
	ErrNotIssuedHere = errors.New("credential was not issued by this host")
	// ErrRevoked: a revoked credential cannot be suspended or reinstated.
	ErrRevoked = errors.New("credential is revoked; revocation is final")
	// ErrNoSuspension: the credential has no suspension status entry.
	ErrNoSuspension = errors.New("credential was issued without a suspension status entry")
)

func hasPurpose(ctx context.Context, tx store.Store, credentialID, purpose string) bool {
	entries, err := tx.StatusEntriesForCredential(ctx, credentialID)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Purpose == purpose {
			return true
		}
	}
	return false
}

// Service allocates indexes and publishes lists.
type Service struct {
	Store   store.Store
	Issuers map[string]*proof.Issuer
	// Base is the public base URL.
	Base string
	Now  func() time.Time
	// AllEntries makes credentialStatus the array of three entries: a
	// BitstringStatusListEntry for revocation, one for suspension, and the
	// issuer's 1EdTechRevocationList. Otherwise (the default) it is the
	// single revocation BitstringStatusListEntry object, because the OB 3.0
	// / CLR 2.0 data model and JSON Schemas allow one CredentialStatus
	// (VC 2.0 allows a set): credentials with the array fail the
	// credential core's schema validation, and so every verification of
	// them. Credentials issued with one entry cannot be suspended.
	AllEntries bool
}

// ListURL is where a list credential is served.
func (s *Service) ListURL(listID string) string { return s.Base + "/status/" + listID }

// RevocationListURL is an issuer's 1EdTech revocation list.
func (s *Service) RevocationListURL(issuer string) string {
	return s.Base + "/issuers/" + issuer + "/revocations"
}

// Allocate hands out the credential's status indexes (one per purpose) and
// returns its credentialStatus entries: a BitstringStatusListEntry per
// purpose and the issuer's 1EdTechRevocationList. Call it with the issuing
// transaction's Store so that the indexes commit with the credential.
func (s *Service) Allocate(ctx context.Context, tx store.Store, issuer, credentialID string, now time.Time) (any, error) {
	out := make([]any, 0, len(purposes)+1)
	for _, p := range purposes {
		if !s.AllEntries && p != status.PurposeRevocation {
			continue
		}
		e, err := tx.AllocateStatusIndex(ctx, issuer, p, credentialID, ListSize, now)
		if err != nil {
			return nil, fmt.Errorf("allocate %s index for %s: %w", p, credentialID, err)
		}
		url := s.ListURL(e.ListID)
		out = append(out, map[string]any{
			"id":                   fmt.Sprintf("%s#%d", url, e.Index),
			"type":                 status.TypeBitstringEntry,
			"statusPurpose":        p,
			"statusListIndex":      fmt.Sprint(e.Index),
			"statusListCredential": url,
		})
	}
	if !s.AllEntries {
		return out[0], nil
	}
	out = append(out, map[string]any{"id": s.RevocationListURL(issuer), "type": status.Type1EdTechRevocationList})
	return out, nil
}

// Action is a status change.
type Action string

const (
	Revoke    Action = "revoke"
	Suspend   Action = "suspend"
	Reinstate Action = "reinstate"
)

// Change applies a status change to a credential issued here, atomically:
// the bits, the credential's status record, the revocation list document,
// and the re-signed list credentials. It returns the new status.
func (s *Service) Change(ctx context.Context, credentialID string, action Action, reason string) (*store.CredentialStatus, error) {
	now := s.Now().UTC()
	var result *store.CredentialStatus
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		c, err := tx.GetCredentialByID(ctx, credentialID)
		if err != nil {
			return err
		}
		if c.Source != store.SourceIssued {
			return ErrNotIssuedHere
		}
		issuer := s.issuerOf(c.Issuer)
		if issuer == nil {
			return ErrNotIssuedHere
		}
		cur, err := tx.GetCredentialStatus(ctx, credentialID)
		if errors.Is(err, store.ErrNotFound) {
			cur = &store.CredentialStatus{CredentialID: credentialID}
		} else if err != nil {
			return err
		}
		if cur.Revoked {
			return ErrRevoked
		}
		if action == Suspend && !hasPurpose(ctx, tx, credentialID, status.PurposeSuspension) {
			return ErrNoSuspension
		}
		next := *cur
		next.Reason = reason
		next.UpdatedAt = now
		switch action {
		case Revoke:
			next.Revoked, next.Suspended = true, false
		case Suspend:
			next.Suspended = true
		case Reinstate:
			next.Suspended = false
		default:
			return fmt.Errorf("unknown status action %q", action)
		}
		entries, err := tx.StatusEntriesForCredential(ctx, credentialID)
		if err != nil {
			return err
		}
		changed := map[string]bool{}
		for _, e := range entries {
			var want bool
			switch e.Purpose {
			case status.PurposeRevocation:
				want = next.Revoked
			case status.PurposeSuspension:
				// A revoked credential keeps its suspension bit clear: the
				// revocation bit says it all.
				want = next.Suspended
			default:
				continue
			}
			if e.Value == want {
				continue
			}
			if err := tx.SetStatusEntry(ctx, e.ListID, e.Index, want, now); err != nil {
				return err
			}
			changed[e.ListID] = true
		}
		if err := tx.PutCredentialStatus(ctx, &next); err != nil {
			return err
		}
		if action == Revoke {
			if err := s.addToRevocationList(ctx, tx, issuer, credentialID, reason, now); err != nil {
				return err
			}
		}
		for id := range changed {
			if _, err := s.signList(ctx, tx, id, now); err != nil {
				return err
			}
		}
		result = &next
		return nil
	})
	return result, err
}

func (s *Service) issuerOf(did string) *proof.Issuer {
	for _, iss := range s.Issuers {
		if iss.DID == did {
			return iss
		}
	}
	return nil
}

// revocationHolder returns the issuer's revocation list holder list, creating
// it on first use.
func (s *Service) revocationHolder(ctx context.Context, tx store.Store, issuer string, now time.Time) (*store.StatusList, int, error) {
	lists, err := tx.ListStatusLists(ctx, issuer)
	if err != nil {
		return nil, 0, err
	}
	for _, l := range lists {
		if l.Purpose == revocationListPurpose {
			return l, 0, nil
		}
	}
	e, err := tx.AllocateStatusIndex(ctx, issuer, revocationListPurpose, revocationListHolder, ListSize, now)
	if err != nil {
		return nil, 0, fmt.Errorf("create revocation list of %s: %w", issuer, err)
	}
	l, err := tx.GetStatusList(ctx, e.ListID)
	return l, e.Index, err
}

func (s *Service) addToRevocationList(ctx context.Context, tx store.Store, iss *proof.Issuer, credentialID, reason string, now time.Time) error {
	holder, index, err := s.revocationHolder(ctx, tx, iss.Name, now)
	if err != nil {
		return err
	}
	// Touch the holder row first: it takes the row lock (PostgreSQL) or the
	// write lock (SQLite), so the document read next is the latest one.
	if err := tx.SetStatusEntry(ctx, holder.ID, index, true, now); err != nil {
		return err
	}
	holder, err = tx.GetStatusList(ctx, holder.ID)
	if err != nil {
		return err
	}
	doc := status.RevocationList{ID: s.RevocationListURL(iss.Name), Issuer: iss.DID}
	if len(holder.Credential) > 0 {
		if err := json.Unmarshal(holder.Credential, &doc); err != nil {
			return fmt.Errorf("revocation list of %s: stored document unreadable: %w", iss.Name, err)
		}
	}
	for _, rc := range doc.RevokedCredentials {
		if rc.ID == credentialID {
			return nil
		}
	}
	doc.RevokedCredentials = append(doc.RevokedCredentials, status.RevokedCredential{ID: credentialID, RevocationReason: reason})
	sort.Slice(doc.RevokedCredentials, func(i, j int) bool { return doc.RevokedCredentials[i].ID < doc.RevokedCredentials[j].ID })
	data, err := proof.Marshal(doc)
	if err != nil {
		return err
	}
	return tx.PutStatusListCredential(ctx, holder.ID, data, store.FormatJSON, now)
}

// RevocationList returns an issuer's 1EdTech revocation list document.
func (s *Service) RevocationList(ctx context.Context, issuer string) ([]byte, error) {
	iss, ok := s.Issuers[issuer]
	if !ok {
		return nil, store.ErrNotFound
	}
	lists, err := s.Store.ListStatusLists(ctx, issuer)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		if l.Purpose == revocationListPurpose && len(l.Credential) > 0 {
			return l.Credential, nil
		}
	}
	return proof.Marshal(status.RevocationList{ID: s.RevocationListURL(issuer), Issuer: iss.DID, RevokedCredentials: []status.RevokedCredential{}})
}

// ListCredential returns a list's signed BitstringStatusListCredential and
// its store format, re-signing it first when a bit changed since it was
// signed, when it was never signed, or when it is past half its validity.
func (s *Service) ListCredential(ctx context.Context, listID string) ([]byte, string, error) {
	l, err := s.Store.GetStatusList(ctx, listID)
	if err != nil {
		return nil, "", err
	}
	if l.Purpose == revocationListPurpose {
		return nil, "", store.ErrNotFound
	}
	now := s.Now().UTC()
	if !s.stale(l, now) {
		return l.Credential, l.Format, nil
	}
	var data []byte
	var format string
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		l, err := tx.GetStatusList(ctx, listID)
		if err != nil {
			return err
		}
		if !s.stale(l, now) { // another request re-signed it meanwhile
			data, format = l.Credential, l.Format
			return nil
		}
		signed, err := s.signList(ctx, tx, listID, now)
		if err != nil {
			return err
		}
		data, format = signed.Data, signed.StoreFormat
		return nil
	})
	return data, format, err
}

func (s *Service) stale(l *store.StatusList, now time.Time) bool {
	return len(l.Credential) == 0 || l.ChangedAt.After(l.SignedAt) || now.Sub(l.SignedAt) > ListValidity/2
}

// signList rebuilds a list credential from the set bits, signs it in the
// issuer's default format and stores it.
func (s *Service) signList(ctx context.Context, tx store.Store, listID string, now time.Time) (*proof.Signed, error) {
	l, err := tx.GetStatusList(ctx, listID)
	if err != nil {
		return nil, err
	}
	if l.Purpose == revocationListPurpose {
		return nil, nil
	}
	iss, ok := s.Issuers[l.Issuer]
	if !ok {
		return nil, fmt.Errorf("status list %s: issuer %q is not configured", listID, l.Issuer)
	}
	set, err := tx.SetStatusIndexes(ctx, listID)
	if err != nil {
		return nil, err
	}
	list, err := status.NewList(s.ListURL(listID), iss.DID, l.Purpose)
	if err != nil {
		return nil, err
	}
	if size := l.Size; size > list.Bits.Len() {
		if list.Bits, err = status.NewBitstring(size); err != nil {
			return nil, err
		}
	}
	for _, i := range set {
		if err := list.Bits.Set(i, true); err != nil {
			return nil, fmt.Errorf("status list %s: %w", listID, err)
		}
	}
	// validFrom is backdated by ClockSkew: a list is often signed while a
	// verifier is working (lazily, on its fetch), and a verifier whose clock
	// (or whose "now", taken when it started) is a second behind would
	// otherwise find the list "not yet valid" and the status unknown.
	cred, err := list.Credential(now.Add(-ClockSkew), now.Add(ListValidity))
	if err != nil {
		return nil, err
	}
	signed, err := iss.Sign(ctx, cred, iss.DefaultFormat(), now)
	if err != nil {
		return nil, err
	}
	if err := tx.PutStatusListCredential(ctx, listID, signed.Data, signed.StoreFormat, now); err != nil {
		return nil, err
	}
	return signed, nil
}

// ContentType is the media type a stored list or credential is served with.
func ContentType(storeFormat string) string {
	if storeFormat == store.FormatJWS {
		return "application/vc+jwt"
	}
	return "application/vc+ld+json"
}

// IsListPath reports whether a list id looks servable (no traversal).
func IsListPath(id string) bool {
	return id != "" && !strings.Contains(id, "..") && !strings.ContainsAny(id, "?#\\")
}
