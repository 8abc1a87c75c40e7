package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

const statusListColumns = `id, issuer, purpose, seq, size, next_index, credential, format, signed_at, changed_at, created_at`

func scanStatusList(scan func(...any) error) (*StatusList, error) {
	var (
		l                        StatusList
		signed, changed, created int64
	)
	if err := scan(&l.ID, &l.Issuer, &l.Purpose, &l.Seq, &l.Size, &l.NextIndex, &l.Credential, &l.Format,
		&signed, &changed, &created); err != nil {
		return nil, err
	}
	l.SignedAt, l.ChangedAt, l.CreatedAt = fromMicros(signed), fromMicros(changed), fromMicros(created)
	return &l, nil
}

// listIDUnsafe matches what may not appear in a status list id, which ends
// up in URLs ({publicURL}/status/{id}).
var listIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func statusListID(issuer, purpose string, seq int) string {
	return listIDUnsafe.ReplaceAllString(issuer, "_") + "-" + listIDUnsafe.ReplaceAllString(purpose, "_") + "-" + strconv.Itoa(seq)
}

func (s *sqlStore) AllocateStatusIndex(ctx context.Context, issuer, purpose, credentialID string, listSize int, now time.Time) (*StatusEntry, error) {
	if err := required("issuer", issuer, "purpose", purpose, "credential id", credentialID); err != nil {
		return nil, err
	}
	if listSize < 1 {
		return nil, fmt.Errorf("%w: status list size %d", ErrInvalid, listSize)
	}
	var entry *StatusEntry
	err := s.InTx(ctx, func(txs Store) error {
		tx := txs.(*sqlStore)
		// A few rounds at most: a round only fails when another replica
		// filled the list or opened the next one at the same moment.
		for attempt := 0; attempt < 32; attempt++ {
			// The outer "next_index < size" is re-checked by PostgreSQL on
			// the locked row after a concurrent update (READ COMMITTED),
			// so a full list is never overfilled.
			var (
				listID string
				idx    int
			)
			err := tx.queryOne(ctx, true,
				`UPDATE status_lists SET next_index = next_index + 1
				 WHERE id = (SELECT id FROM status_lists WHERE issuer = $1 AND purpose = $2 AND next_index < size
				             ORDER BY seq DESC LIMIT 1)
				   AND next_index < size
				 RETURNING id, next_index - 1`, []any{issuer, purpose}, &listID, &idx)
			if errors.Is(err, ErrNotFound) {
				// No list with room as of the UPDATE's snapshot. Look again
				// (a new statement sees lists committed since): only if
				// the newest list is full, open the next one.
				var lastSeq, lastNext, lastSize int
				err := tx.queryOne(ctx, true, `SELECT seq, next_index, size FROM status_lists
					WHERE issuer = $1 AND purpose = $2 ORDER BY seq DESC LIMIT 1`,
					[]any{issuer, purpose}, &lastSeq, &lastNext, &lastSize)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return tx.wrap(err, "allocate status index")
				}
				if err == nil && lastNext < lastSize {
					continue
				}
				seq := lastSeq + 1
				id := statusListID(issuer, purpose, seq)
				res, err := tx.exec(ctx,
					`INSERT INTO status_lists (`+statusListColumns+`) VALUES ($1,$2,$3,$4,$5,1,NULL,'',0,$6,$6)
					 ON CONFLICT DO NOTHING`, id, issuer, purpose, seq, listSize, micros(now))
				if err != nil {
					return tx.wrap(err, "open status list")
				}
				if n, _ := res.RowsAffected(); n == 0 {
					continue // another replica opened it first: allocate from it
				}
				listID, idx = id, 0
			} else if err != nil {
				return tx.wrap(err, "allocate status index")
			}
			if err := tx.insertOrConflict(ctx, "status entry",
				`INSERT INTO status_entries (list_id, idx, credential_id, value) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`,
				listID, idx, credentialID, false); err != nil {
				return err
			}
			entry = &StatusEntry{ListID: listID, Purpose: purpose, Index: idx, CredentialID: credentialID}
			return nil
		}
		return fmt.Errorf("store: allocate status index for %s/%s: too much contention", issuer, purpose)
	})
	return entry, err
}

func (s *sqlStore) GetStatusList(ctx context.Context, id string) (*StatusList, error) {
	rows, err := s.query(ctx, `SELECT `+statusListColumns+` FROM status_lists WHERE id = $1`, id)
	if err != nil {
		return nil, s.wrap(err, "get status list")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "get status list")
		}
		return nil, fmt.Errorf("%w: status list %q", ErrNotFound, id)
	}
	l, err := scanStatusList(rows.Scan)
	if err != nil {
		return nil, s.wrap(err, "get status list")
	}
	return l, nil
}

func (s *sqlStore) ListStatusLists(ctx context.Context, issuer string) ([]*StatusList, error) {
	rows, err := s.query(ctx, `SELECT `+statusListColumns+` FROM status_lists WHERE (CAST($1 AS TEXT) = '' OR issuer = $1)
		ORDER BY issuer, purpose, seq`, issuer)
	if err != nil {
		return nil, s.wrap(err, "list status lists")
	}
	defer rows.Close()
	var out []*StatusList
	for rows.Next() {
		l, err := scanStatusList(rows.Scan)
		if err != nil {
			return nil, s.wrap(err, "list status lists")
		}
		out = append(out, l)
	}
	return out, s.wrap(rows.Err(), "list status lists")
}

func (s *sqlStore) StatusEntriesForCredential(ctx context.Context, credentialID string) ([]*StatusEntry, error) {
	rows, err := s.query(ctx, `SELECT e.list_id, l.purpose, e.idx, e.credential_id, e.value
		FROM status_entries e JOIN status_lists l ON l.id = e.list_id
		WHERE e.credential_id = $1 ORDER BY l.purpose, e.list_id`, credentialID)
	if err != nil {
		return nil, s.wrap(err, "status entries")
	}
	defer rows.Close()
	var out []*StatusEntry
	for rows.Next() {
		var e StatusEntry
		if err := rows.Scan(&e.ListID, &e.Purpose, &e.Index, &e.CredentialID, &e.Value); err != nil {
			return nil, s.wrap(err, "status entries")
		}
		out = append(out, &e)
	}
	return out, s.wrap(rows.Err(), "status entries")
}

func (s *sqlStore) SetStatusEntry(ctx context.Context, listID string, index int, value bool, now time.Time) error {
	return s.InTx(ctx, func(txs Store) error {
		tx := txs.(*sqlStore)
		res, err := tx.exec(ctx, `UPDATE status_entries SET value = $3 WHERE list_id = $1 AND idx = $2`, listID, index, value)
		if err := affectedOrNotFound(res, err, "set status entry"); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE status_lists SET changed_at = $2 WHERE id = $1`, listID, micros(now))
		return tx.wrap(err, "set status entry")
	})
}

func (s *sqlStore) SetStatusIndexes(ctx context.Context, listID string) ([]int, error) {
	rows, err := s.query(ctx, `SELECT idx FROM status_entries WHERE list_id = $1 AND value ORDER BY idx`, listID)
	if err != nil {
		return nil, s.wrap(err, "status indexes")
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, s.wrap(err, "status indexes")
		}
		out = append(out, i)
	}
	return out, s.wrap(rows.Err(), "status indexes")
}

func (s *sqlStore) PutStatusListCredential(ctx context.Context, listID string, data []byte, format string, signedAt time.Time) error {
	res, err := s.exec(ctx, `UPDATE status_lists SET credential = $2, format = $3, signed_at = $4 WHERE id = $1`,
		listID, data, format, micros(signedAt))
	return affectedOrNotFound(res, err, "put status list credential")
}

func (s *sqlStore) PutCredentialStatus(ctx context.Context, cs *CredentialStatus) error {
	if err := required("credential id", cs.CredentialID); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO credential_status (credential_id, revoked, suspended, reason, updated_at)
		VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (credential_id) DO UPDATE SET revoked = excluded.revoked, suspended = excluded.suspended,
		  reason = excluded.reason, updated_at = excluded.updated_at`,
		cs.CredentialID, cs.Revoked, cs.Suspended, cs.Reason, micros(cs.UpdatedAt))
	return s.wrap(err, "put credential status")
}

func (s *sqlStore) GetCredentialStatus(ctx context.Context, credentialID string) (*CredentialStatus, error) {
	var (
		cs      CredentialStatus
		updated int64
	)
	err := s.queryOne(ctx, false, `SELECT credential_id, revoked, suspended, reason, updated_at FROM credential_status
		WHERE credential_id = $1`, []any{credentialID}, &cs.CredentialID, &cs.Revoked, &cs.Suspended, &cs.Reason, &updated)
	if err != nil {
		return nil, s.wrap(err, "get credential status")
	}
	cs.UpdatedAt = fromMicros(updated)
	return &cs, nil
}

// --- share links ---

func (s *sqlStore) CreateShareLink(ctx context.Context, l *ShareLink) error {
	if err := required("token hash", l.TokenHash, "learner id", l.LearnerID, "credential id", l.CredentialID); err != nil {
		return err
	}
	return s.insertOrConflict(ctx, "share link",
		`INSERT INTO share_links (token_hash, learner_id, credential_id, created_at, revoked_at) VALUES ($1,$2,$3,$4,$5)
		 ON CONFLICT DO NOTHING`, l.TokenHash, l.LearnerID, l.CredentialID, micros(l.CreatedAt), nullMicros(l.RevokedAt))
}

func scanShareLink(scan func(...any) error) (*ShareLink, error) {
	var (
		l       ShareLink
		created int64
		revoked sql.NullInt64
	)
	if err := scan(&l.TokenHash, &l.LearnerID, &l.CredentialID, &created, &revoked); err != nil {
		return nil, err
	}
	l.CreatedAt, l.RevokedAt = fromMicros(created), fromNullMicros(revoked)
	return &l, nil
}

func (s *sqlStore) GetShareLink(ctx context.Context, tokenHash string) (*ShareLink, error) {
	rows, err := s.query(ctx, `SELECT token_hash, learner_id, credential_id, created_at, revoked_at FROM share_links
		WHERE token_hash = $1`, tokenHash)
	if err != nil {
		return nil, s.wrap(err, "get share link")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "get share link")
		}
		return nil, fmt.Errorf("%w: share link", ErrNotFound)
	}
	l, err := scanShareLink(rows.Scan)
	if err != nil {
		return nil, s.wrap(err, "get share link")
	}
	return l, nil
}

func (s *sqlStore) RevokeShareLink(ctx context.Context, tokenHash string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE share_links SET revoked_at = COALESCE(revoked_at, $2) WHERE token_hash = $1`,
		tokenHash, micros(at))
	return affectedOrNotFound(res, err, "revoke share link")
}

func (s *sqlStore) ListShareLinks(ctx context.Context, learnerID, credentialID string) ([]*ShareLink, error) {
	rows, err := s.query(ctx, `SELECT token_hash, learner_id, credential_id, created_at, revoked_at FROM share_links
		WHERE learner_id = $1 AND (CAST($2 AS TEXT) = '' OR credential_id = $2) ORDER BY created_at, token_hash`, learnerID, credentialID)
	if err != nil {
		return nil, s.wrap(err, "list share links")
	}
	defer rows.Close()
	var out []*ShareLink
	for rows.Next() {
		l, err := scanShareLink(rows.Scan)
		if err != nil {
			return nil, s.wrap(err, "list share links")
		}
		out = append(out, l)
	}
	return out, s.wrap(rows.Err(), "list share links")
}
