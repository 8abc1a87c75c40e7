package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// --- clients ---

func (s *sqlStore) CreateClient(ctx context.Context, c *Client) error {
	if err := required("client id", c.ID); err != nil {
		return err
	}
	return s.insertOrConflict(ctx, "oauth client",
		`INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, scopes, grant_types, metadata, created_at)
		 VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING`,
		c.ID, c.SecretHash, c.Name, jsonList(c.RedirectURIs), jsonList(c.Scopes), jsonList(c.GrantTypes),
		jsonDoc(c.Metadata, "{}"), micros(c.CreatedAt))
}

func (s *sqlStore) GetClient(ctx context.Context, id string) (*Client, error) {
	var (
		c                      Client
		redirects, scopes, gts string
		metadata               string
		created                int64
	)
	err := s.queryOne(ctx, false,
		`SELECT id, secret_hash, name, redirect_uris, scopes, grant_types, metadata, created_at
		 FROM oauth_clients WHERE id = $1`, []any{id},
		&c.ID, &c.SecretHash, &c.Name, &redirects, &scopes, &gts, &metadata, &created)
	if err != nil {
		return nil, s.wrap(err, "get oauth client")
	}
	if c.RedirectURIs, err = parseList(redirects); err != nil {
		return nil, err
	}
	if c.Scopes, err = parseList(scopes); err != nil {
		return nil, err
	}
	if c.GrantTypes, err = parseList(gts); err != nil {
		return nil, err
	}
	c.Metadata = []byte(metadata)
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

func (s *sqlStore) DeleteClient(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM oauth_clients WHERE id = $1`, id)
	return affectedOrNotFound(res, err, "delete oauth client")
}

func (s *sqlStore) CountClients(ctx context.Context) (int, error) {
	var n int
	if err := s.queryOne(ctx, false, `SELECT count(*) FROM oauth_clients`, nil, &n); err != nil {
		return 0, s.wrap(err, "count oauth clients")
	}
	return n, nil
}

// --- authorization codes ---

const codeColumns = `code_hash, client_id, learner_id, redirect_uri, scopes, code_challenge,
	code_challenge_method, grant_id, created_at, expires_at, used_at`

func scanCode(scan func(...any) error) (*AuthCode, error) {
	var (
		c                AuthCode
		scopes           string
		created, expires int64
		used             sql.NullInt64
	)
	if err := scan(&c.CodeHash, &c.ClientID, &c.LearnerID, &c.RedirectURI, &scopes, &c.CodeChallenge,
		&c.CodeChallengeMethod, &c.GrantID, &created, &expires, &used); err != nil {
		return nil, err
	}
	var err error
	if c.Scopes, err = parseList(scopes); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return &c, nil
}

func (s *sqlStore) CreateAuthCode(ctx context.Context, c *AuthCode) error {
	if err := required("code hash", c.CodeHash, "client id", c.ClientID, "learner id", c.LearnerID); err != nil {
		return err
	}
	return s.insertOrConflict(ctx, "authorization code",
		`INSERT INTO oauth_codes (`+codeColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT DO NOTHING`,
		c.CodeHash, c.ClientID, c.LearnerID, c.RedirectURI, jsonList(c.Scopes), c.CodeChallenge,
		c.CodeChallengeMethod, c.GrantID, micros(c.CreatedAt), micros(c.ExpiresAt), nullMicros(c.UsedAt))
}

func (s *sqlStore) getCode(ctx context.Context, hash string) (*AuthCode, error) {
	rows, err := s.queryOn(ctx, true, `SELECT `+codeColumns+` FROM oauth_codes WHERE code_hash = $1`, hash)
	if err != nil {
		return nil, s.wrap(err, "get authorization code")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "get authorization code")
		}
		return nil, fmt.Errorf("%w: authorization code", ErrNotFound)
	}
	return scanCode(rows.Scan)
}

func (s *sqlStore) ConsumeAuthCode(ctx context.Context, codeHash string, now time.Time) (*AuthCode, error) {
	// One conditional UPDATE is the atomic test-and-set: of two concurrent
	// exchanges only one matches "used_at IS NULL".
	rows, err := s.queryOn(ctx, true,
		`UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
		 RETURNING `+codeColumns, codeHash, micros(now))
	if err != nil {
		return nil, s.wrap(err, "consume authorization code")
	}
	var code *AuthCode
	if rows.Next() {
		code, err = scanCode(rows.Scan)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return nil, s.wrap(err, "consume authorization code")
	}
	if code != nil {
		return code, nil
	}
	code, err = s.getCode(ctx, codeHash)
	if err != nil {
		return nil, err
	}
	if code.UsedAt != nil {
		return code, ErrAlreadyUsed
	}
	return code, ErrExpired
}

// --- tokens ---

const tokenColumns = `hash, kind, client_id, subject, scopes, grant_id, created_at, expires_at, revoked_at`

func scanToken(scan func(...any) error) (*Token, error) {
	var (
		t                Token
		scopes           string
		created, expires int64
		revoked          sql.NullInt64
	)
	if err := scan(&t.Hash, &t.Kind, &t.ClientID, &t.Subject, &scopes, &t.GrantID, &created, &expires, &revoked); err != nil {
		return nil, err
	}
	var err error
	if t.Scopes, err = parseList(scopes); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(created), fromMicros(expires), fromNullMicros(revoked)
	return &t, nil
}

func (s *sqlStore) CreateToken(ctx context.Context, t *Token) error {
	if err := required("token hash", t.Hash, "client id", t.ClientID); err != nil {
		return err
	}
	if t.Kind != TokenAccess && t.Kind != TokenRefresh {
		return fmt.Errorf("%w: token kind %q", ErrInvalid, t.Kind)
	}
	return s.insertOrConflict(ctx, "token",
		`INSERT INTO oauth_tokens (`+tokenColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING`,
		t.Hash, t.Kind, t.ClientID, t.Subject, jsonList(t.Scopes), t.GrantID,
		micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.RevokedAt))
}

func (s *sqlStore) getToken(ctx context.Context, write bool, hash string) (*Token, error) {
	rows, err := s.queryOn(ctx, write, `SELECT `+tokenColumns+` FROM oauth_tokens WHERE hash = $1`, hash)
	if err != nil {
		return nil, s.wrap(err, "get token")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "get token")
		}
		return nil, fmt.Errorf("%w: token", ErrNotFound)
	}
	t, err := scanToken(rows.Scan)
	if err != nil {
		return nil, s.wrap(err, "get token")
	}
	return t, nil
}

func (s *sqlStore) GetToken(ctx context.Context, hash string) (*Token, error) {
	return s.getToken(ctx, false, hash)
}

func (s *sqlStore) RotateRefreshToken(ctx context.Context, oldHash string, now time.Time, replacements ...*Token) (*Token, error) {
	var old *Token
	err := s.InTx(ctx, func(txs Store) error {
		tx := txs.(*sqlStore)
		rows, err := tx.queryOn(ctx, true,
			`UPDATE oauth_tokens SET revoked_at = $2
			 WHERE hash = $1 AND kind = 'refresh' AND revoked_at IS NULL AND expires_at > $2
			 RETURNING `+tokenColumns, oldHash, micros(now))
		if err != nil {
			return tx.wrap(err, "rotate refresh token")
		}
		if rows.Next() {
			old, err = scanToken(rows.Scan)
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return tx.wrap(err, "rotate refresh token")
		}
		if old == nil {
			t, err := tx.getToken(ctx, true, oldHash)
			if err != nil {
				return err
			}
			if t.Kind != TokenRefresh {
				return fmt.Errorf("%w: refresh token", ErrNotFound)
			}
			old = t
			if t.RevokedAt != nil {
				return ErrAlreadyUsed
			}
			return ErrExpired
		}
		for _, r := range replacements {
			if err := tx.CreateToken(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrAlreadyUsed) || errors.Is(err, ErrExpired) {
			return old, err
		}
		return nil, err
	}
	return old, nil
}

func (s *sqlStore) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	// COALESCE keeps the first revocation time.
	res, err := s.exec(ctx, `UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE hash = $1`, hash, micros(at))
	return affectedOrNotFound(res, err, "revoke token")
}

func (s *sqlStore) RevokeGrant(ctx context.Context, grantID string, at time.Time) (int, error) {
	if grantID == "" {
		return 0, fmt.Errorf("%w: grant id is required", ErrInvalid)
	}
	res, err := s.exec(ctx, `UPDATE oauth_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL`, grantID, micros(at))
	if err != nil {
		return 0, s.wrap(err, "revoke grant")
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *sqlStore) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	var total int64
	err := s.InTx(ctx, func(txs Store) error {
		tx := txs.(*sqlStore)
		for _, q := range []string{
			`DELETE FROM oauth_tokens WHERE expires_at < $1`,
			`DELETE FROM oauth_codes WHERE expires_at < $1`,
			`DELETE FROM sessions WHERE expires_at < $1`,
		} {
			res, err := tx.exec(ctx, q, micros(before))
			if err != nil {
				return tx.wrap(err, "delete expired")
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return int(total), err
}

// --- sessions ---

func (s *sqlStore) CreateSession(ctx context.Context, ss *Session) error {
	if err := required("session hash", ss.Hash); err != nil {
		return err
	}
	return s.insertOrConflict(ctx, "session",
		`INSERT INTO sessions (hash, learner_id, data, created_at, expires_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`,
		ss.Hash, ss.LearnerID, jsonDoc(ss.Data, "{}"), micros(ss.CreatedAt), micros(ss.ExpiresAt))
}

func (s *sqlStore) GetSession(ctx context.Context, hash string) (*Session, error) {
	var (
		ss               Session
		data             string
		created, expires int64
	)
	err := s.queryOne(ctx, false, `SELECT hash, learner_id, data, created_at, expires_at FROM sessions WHERE hash = $1`,
		[]any{hash}, &ss.Hash, &ss.LearnerID, &data, &created, &expires)
	if err != nil {
		return nil, s.wrap(err, "get session")
	}
	ss.Data = []byte(data)
	ss.CreatedAt, ss.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &ss, nil
}

func (s *sqlStore) DeleteSession(ctx context.Context, hash string) error {
	res, err := s.exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return affectedOrNotFound(res, err, "delete session")
}
