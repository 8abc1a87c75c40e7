package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// --- learners ---

func (s *sqlStore) EnsureLearner(ctx context.Context, id string, now time.Time) (*Learner, error) {
	if err := required("learner id", id); err != nil {
		return nil, err
	}
	if _, err := s.exec(ctx,
		`INSERT INTO learners (id, profile, created_at, updated_at) VALUES ($1, '{}', $2, $2) ON CONFLICT DO NOTHING`,
		id, micros(now)); err != nil {
		return nil, s.wrap(err, "ensure learner")
	}
	return s.getLearner(ctx, true, id)
}

func (s *sqlStore) getLearner(ctx context.Context, write bool, id string) (*Learner, error) {
	var (
		l                Learner
		profile          string
		created, updated int64
	)
	err := s.queryOne(ctx, write, `SELECT id, profile, created_at, updated_at FROM learners WHERE id = $1`,
		[]any{id}, &l.ID, &profile, &created, &updated)
	if err != nil {
		return nil, s.wrap(err, "get learner")
	}
	l.Profile = json.RawMessage(profile)
	l.CreatedAt, l.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &l, nil
}

func (s *sqlStore) GetLearner(ctx context.Context, id string) (*Learner, error) {
	return s.getLearner(ctx, false, id)
}

func (s *sqlStore) PutLearnerProfile(ctx context.Context, id string, profile json.RawMessage, now time.Time) (*Learner, error) {
	if err := required("learner id", id); err != nil {
		return nil, err
	}
	if !json.Valid(profile) {
		return nil, fmt.Errorf("%w: profile is not JSON", ErrInvalid)
	}
	if _, err := s.exec(ctx,
		`INSERT INTO learners (id, profile, created_at, updated_at) VALUES ($1, $2, $3, $3)
		 ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`,
		id, string(profile), micros(now)); err != nil {
		return nil, s.wrap(err, "put learner profile")
	}
	return s.getLearner(ctx, true, id)
}

// --- credentials ---

const credentialColumns = `learner_id, id, issuer, type, format, data, source, created_at, updated_at`

func scanCredential(scan func(...any) error, extra ...any) (*Credential, error) {
	var (
		c                Credential
		created, updated int64
	)
	dest := append([]any{&c.LearnerID, &c.ID, &c.Issuer, &c.Type, &c.Format, &c.Data, &c.Source, &created, &updated}, extra...)
	if err := scan(dest...); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

func validCredential(c *Credential) error {
	if err := required("credential id", c.ID, "learner id", c.LearnerID, "format", c.Format, "source", c.Source); err != nil {
		return err
	}
	if c.Format != FormatJSON && c.Format != FormatJWS {
		return fmt.Errorf("%w: credential format %q", ErrInvalid, c.Format)
	}
	if c.Source != SourceIssued && c.Source != SourceUpserted {
		return fmt.Errorf("%w: credential source %q", ErrInvalid, c.Source)
	}
	if len(c.Data) == 0 {
		return fmt.Errorf("%w: credential data is empty", ErrInvalid)
	}
	return nil
}

func (s *sqlStore) PutCredential(ctx context.Context, c *Credential) (bool, error) {
	if err := validCredential(c); err != nil {
		return false, err
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	defer s.beginCredentialWrite(c.LearnerID)()
	// version counts writes: 1 after the INSERT, more after an UPDATE, which
	// tells created from replaced in one atomic statement on both dialects.
	rows, err := s.queryOn(ctx, true,
		`INSERT INTO credentials (`+credentialColumns+`, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,1)
		 ON CONFLICT (learner_id, id) DO UPDATE SET
		   issuer = excluded.issuer, type = excluded.type, format = excluded.format, data = excluded.data,
		   source = CASE WHEN excluded.source = 'issued' THEN 'issued' ELSE credentials.source END,
		   version = credentials.version + 1, updated_at = excluded.updated_at
		 RETURNING version, created_at, source`,
		c.LearnerID, c.ID, c.Issuer, c.Type, c.Format, c.Data, c.Source, micros(c.CreatedAt), micros(c.UpdatedAt))
	if err != nil {
		return false, s.wrap(err, "put credential")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return false, s.wrap(err, "put credential")
		}
		return false, fmt.Errorf("store: put credential: no row returned")
	}
	var version, created int64
	if err := rows.Scan(&version, &created, &c.Source); err != nil {
		return false, s.wrap(err, "put credential")
	}
	c.CreatedAt = fromMicros(created)
	return version == 1, rows.Close()
}

// insertChunk is the rows per multi-row INSERT: far under SQLite's limit of
// 32766 bound parameters (9 per row), and no slower than larger chunks in
// BenchmarkSQLiteBulkInsert*.
const insertChunk = 100

func (s *sqlStore) InsertCredentials(ctx context.Context, cs []*Credential) error {
	for _, c := range cs {
		if err := validCredential(c); err != nil {
			return err
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = c.CreatedAt
		}
	}
	return s.InTx(ctx, func(txs Store) error {
		tx := txs.(*sqlStore)
		for _, c := range cs {
			tx.beginCredentialWrite(c.LearnerID)
		}
		for start := 0; start < len(cs); start += insertChunk {
			chunk := cs[start:min(start+insertChunk, len(cs))]
			args := make([]any, 0, len(chunk)*9)
			for _, c := range chunk {
				args = append(args, c.LearnerID, c.ID, c.Issuer, c.Type, c.Format, c.Data, c.Source,
					micros(c.CreatedAt), micros(c.UpdatedAt))
			}
			q := `INSERT INTO credentials (` + credentialColumns + `) VALUES ` + placeholders(len(chunk), 9, 1) +
				` ON CONFLICT DO NOTHING`
			res, err := tx.exec(ctx, q, args...)
			if err != nil {
				return tx.wrap(err, "insert credentials")
			}
			if n, err := res.RowsAffected(); err != nil {
				return tx.wrap(err, "insert credentials")
			} else if int(n) != len(chunk) {
				return fmt.Errorf("%w: %d of %d credentials already stored", ErrConflict, len(chunk)-int(n), len(chunk))
			}
		}
		return nil
	})
}

func (s *sqlStore) GetCredential(ctx context.Context, learnerID, id string) (*Credential, error) {
	rows, err := s.query(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE learner_id = $1 AND id = $2`, learnerID, id)
	if err != nil {
		return nil, s.wrap(err, "get credential")
	}
	return oneCredential(rows)
}

func (s *sqlStore) GetCredentialByID(ctx context.Context, id string) (*Credential, error) {
	rows, err := s.query(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE id = $1
		ORDER BY CASE WHEN source = 'issued' THEN 0 ELSE 1 END, created_at LIMIT 1`, id)
	if err != nil {
		return nil, s.wrap(err, "get credential")
	}
	return oneCredential(rows)
}

type rowsLike interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func oneCredential(rows rowsLike) (*Credential, error) {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: get credential: %w", err)
		}
		return nil, fmt.Errorf("%w: credential", ErrNotFound)
	}
	c, err := scanCredential(rows.Scan)
	if err != nil {
		return nil, fmt.Errorf("store: get credential: %w", err)
	}
	return c, rows.Close()
}

// listQueries are the ListCredentials statements, built once per filter
// combination (type, format) rather than formatted on every request, so
// that the prepared-statement cache is hit with the same string each time.
var listQueries = func() (q [2][2]struct{ page, data, count string }) {
	for t := range 2 {
		for f := range 2 {
			where := `learner_id = $1 AND updated_at >= $2`
			n := 2
			if t == 1 {
				n++
				where += fmt.Sprintf(` AND type = $%d`, n)
			}
			if f == 1 {
				n++
				where += fmt.Sprintf(` AND format = $%d`, n)
			}
			// The total comes from an uncorrelated scalar subquery: SQLite
			// evaluates it once per statement, in the same snapshot as the
			// page, walking the (learner_id, updated_at, id) index and
			// reading only the small leading columns of each row. The
			// previous count(*) OVER () made SQLite copy every matching
			// row, credential bytes included, into an ephemeral table
			// before returning the first one: it was most of the
			// statement's CPU time (docs/benchmarks.md, "GET credentials
			// under 200 concurrent clients").
			q[t][f].page = fmt.Sprintf(`SELECT `+credentialColumns+`, (SELECT count(*) FROM credentials WHERE %s)
		FROM credentials WHERE %s ORDER BY updated_at, id LIMIT $%d OFFSET $%d`, where, where, n+1, n+2)
			q[t][f].data = fmt.Sprintf(`SELECT format, data, (SELECT count(*) FROM credentials WHERE %s)
		FROM credentials WHERE %s ORDER BY updated_at, id LIMIT $%d OFFSET $%d`, where, where, n+1, n+2)
			q[t][f].count = `SELECT count(*) FROM credentials WHERE ` + where
		}
	}
	return q
}()

// listArgs checks q and returns the statements and arguments of its page
// (the last two arguments are limit and offset).
func listArgs(q CredentialQuery) (struct{ page, data, count string }, []any, error) {
	if err := required("learner id", q.LearnerID); err != nil {
		return listQueries[0][0], nil, err
	}
	if q.Offset < 0 {
		return listQueries[0][0], nil, fmt.Errorf("%w: negative offset", ErrInvalid)
	}
	args := make([]any, 2, 6)
	args[0], args[1] = q.LearnerID, micros(q.Since)
	var hasType, hasFormat int
	if q.Type != "" {
		args = append(args, q.Type)
		hasType = 1
	}
	if q.Format != "" {
		args = append(args, q.Format)
		hasFormat = 1
	}
	queries := listQueries[hasType][hasFormat]
	limit := int64(q.Limit)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	return queries, append(args, limit, q.Offset), nil
}

func (s *sqlStore) ListCredentials(ctx context.Context, q CredentialQuery) ([]*Credential, int, error) {
	queries, args, err := listArgs(q)
	if err != nil {
		return nil, 0, err
	}
	// The page and its total come from one statement (one snapshot); only
	// a page past the end needs a separate count.
	rows, err := s.query(ctx, queries.page, args...)
	if err != nil {
		return nil, 0, s.wrap(err, "list credentials")
	}
	defer rows.Close()
	var (
		out   = make([]*Credential, 0, max(min(q.Limit, 64), 0))
		total int64
	)
	for rows.Next() {
		c, err := scanCredential(rows.Scan, &total)
		if err != nil {
			return nil, 0, s.wrap(err, "list credentials")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.wrap(err, "list credentials")
	}
	rows.Close()
	if len(out) == 0 {
		if err := s.queryOne(ctx, false, queries.count, args[:len(args)-2], &total); err != nil {
			return nil, 0, s.wrap(err, "count credentials")
		}
	}
	return out, int(total), nil
}

func (s *sqlStore) ListCredentialData(ctx context.Context, q CredentialQuery, fn func(format string, data []byte) error) (int, error) {
	queries, args, err := listArgs(q)
	if err != nil {
		return 0, err
	}
	rows, err := s.query(ctx, queries.data, args...)
	if err != nil {
		return 0, s.wrap(err, "list credentials")
	}
	defer rows.Close()
	var (
		// RawBytes: the driver's bytes, not a copy; they are handed to fn
		// before the next row is read, as database/sql allows.
		format, data sql.RawBytes
		total        int64
		n            int
	)
	for rows.Next() {
		if err := rows.Scan(&format, &data, &total); err != nil {
			return 0, s.wrap(err, "list credentials")
		}
		// The stored format is one of two constants: hand out those, not
		// a new string per row.
		f := FormatJSON
		if string(format) == FormatJWS {
			f = FormatJWS
		} else if string(format) != FormatJSON {
			return 0, fmt.Errorf("store: list credentials: unknown stored format %q", format)
		}
		if err := fn(f, data); err != nil {
			return 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, s.wrap(err, "list credentials")
	}
	rows.Close()
	if n == 0 {
		if err := s.queryOne(ctx, false, queries.count, args[:len(args)-2], &total); err != nil {
			return 0, s.wrap(err, "count credentials")
		}
	}
	return int(total), nil
}

func (s *sqlStore) DeleteCredential(ctx context.Context, learnerID, id string) error {
	defer s.beginCredentialWrite(learnerID)()
	res, err := s.exec(ctx, `DELETE FROM credentials WHERE learner_id = $1 AND id = $2`, learnerID, id)
	return affectedOrNotFound(res, err, "delete credential")
}

// --- learning records ---

const recordColumns = `id, learner_id, issuer, kind, data, credential_ids, created_at`

func (s *sqlStore) CreateLearningRecord(ctx context.Context, r *LearningRecord) error {
	if err := required("record id", r.ID, "learner id", r.LearnerID, "kind", r.Kind); err != nil {
		return err
	}
	if !json.Valid(r.Data) {
		return fmt.Errorf("%w: learning record data is not JSON", ErrInvalid)
	}
	return s.insertOrConflict(ctx, "learning record",
		`INSERT INTO learning_records (`+recordColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING`,
		r.ID, r.LearnerID, r.Issuer, r.Kind, string(r.Data), jsonList(r.CredentialIDs), micros(r.CreatedAt))
}

func scanRecord(scan func(...any) error) (*LearningRecord, error) {
	var (
		r             LearningRecord
		data, credIDs string
		created       int64
	)
	if err := scan(&r.ID, &r.LearnerID, &r.Issuer, &r.Kind, &data, &credIDs, &created); err != nil {
		return nil, err
	}
	var err error
	if r.CredentialIDs, err = parseList(credIDs); err != nil {
		return nil, err
	}
	r.Data = json.RawMessage(data)
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

func (s *sqlStore) GetLearningRecord(ctx context.Context, id string) (*LearningRecord, error) {
	rows, err := s.query(ctx, `SELECT `+recordColumns+` FROM learning_records WHERE id = $1`, id)
	if err != nil {
		return nil, s.wrap(err, "get learning record")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "get learning record")
		}
		return nil, fmt.Errorf("%w: learning record", ErrNotFound)
	}
	r, err := scanRecord(rows.Scan)
	if err != nil {
		return nil, s.wrap(err, "get learning record")
	}
	return r, nil
}

func (s *sqlStore) ListLearningRecords(ctx context.Context, learnerID string) ([]*LearningRecord, error) {
	rows, err := s.query(ctx, `SELECT `+recordColumns+` FROM learning_records WHERE learner_id = $1 ORDER BY created_at, id`, learnerID)
	if err != nil {
		return nil, s.wrap(err, "list learning records")
	}
	defer rows.Close()
	var out []*LearningRecord
	for rows.Next() {
		r, err := scanRecord(rows.Scan)
		if err != nil {
			return nil, s.wrap(err, "list learning records")
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "list learning records")
}

// --- idempotency ---

func (s *sqlStore) PutIdempotency(ctx context.Context, r *IdempotencyRecord) error {
	if err := required("client id", r.ClientID, "idempotency key", r.Key); err != nil {
		return err
	}
	resp := r.Response
	if resp == nil {
		resp = []byte{}
	}
	return s.insertOrConflict(ctx, "idempotency key",
		`INSERT INTO idempotency_keys (client_id, key, request_hash, status_code, response, created_at)
		 VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING`,
		r.ClientID, r.Key, r.RequestHash, r.StatusCode, resp, micros(r.CreatedAt))
}

func (s *sqlStore) GetIdempotency(ctx context.Context, clientID, key string) (*IdempotencyRecord, error) {
	var (
		r       IdempotencyRecord
		created int64
	)
	err := s.queryOne(ctx, false,
		`SELECT client_id, key, request_hash, status_code, response, created_at FROM idempotency_keys
		 WHERE client_id = $1 AND key = $2`, []any{clientID, key},
		&r.ClientID, &r.Key, &r.RequestHash, &r.StatusCode, &r.Response, &created)
	if err != nil {
		return nil, s.wrap(err, "get idempotency key")
	}
	r.CreatedAt = fromMicros(created)
	return &r, nil
}
