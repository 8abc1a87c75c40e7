package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// dialect is the SQL flavour. The queries are shared: both dialects accept
// $N placeholders, ON CONFLICT, RETURNING and window functions; only the
// DDL (migrations) and error codes differ.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// database is what the root store and its transactions share.
type database struct {
	dialect dialect
	// write runs writes and transactions. For SQLite it holds a single
	// connection: SQLite has one writer at a time anyway, and queueing in
	// Go is much cheaper than busy-waiting on the file lock.
	write *sql.DB
	// read serves reads outside transactions (SQLite: a pool of read-only
	// WAL readers that never block the writer; PostgreSQL: same as write).
	read *sql.DB
	// isUnique recognises a unique-constraint violation of the driver.
	isUnique func(error) bool
	closers  []func() error

	// stmts caches prepared statements per pool (SQLite; pgx caches
	// prepared statements per connection itself).
	stmts   sync.Map // stmtKey -> *sql.Stmt
	warming sync.Map // query -> true while being prepared for the writer

	// versions tracks writes to each learner's credentials (SQLite only,
	// the single writer of its file; nil for PostgreSQL).
	versions *credentialVersions
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// sqlStore implements Store over database/sql. tx is nil for the root store.
type sqlStore struct {
	db *database
	tx *sql.Tx
	// txw are the credential writes of the transaction (nil outside one).
	txw *txWrites
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{db, query}
	if st, ok := s.db.stmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.db.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *sqlStore) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s.db.dialect == dialectPostgres {
		if s.tx != nil {
			return s.tx.ExecContext(ctx, query, args...)
		}
		return s.db.write.ExecContext(ctx, query, args...)
	}
	if s.tx != nil {
		if st := s.cachedTxStmt(query); st != nil {
			return s.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
		return s.tx.ExecContext(ctx, query, args...)
	}
	st, err := s.stmt(ctx, s.db.write, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// cachedTxStmt returns the writer's prepared statement for query if there
// is one. On a miss it cannot prepare on the spot: the writer's only
// connection is the one this transaction holds, so the statement is
// prepared in the background once the connection is free, and this call
// runs unprepared.
func (s *sqlStore) cachedTxStmt(query string) *sql.Stmt {
	k := stmtKey{s.db.write, query}
	if st, ok := s.db.stmts.Load(k); ok {
		return st.(*sql.Stmt)
	}
	if _, busy := s.db.warming.LoadOrStore(query, true); !busy {
		go func() {
			// Errors (e.g. the store closed meanwhile) only mean no cache.
			_, _ = s.stmt(context.Background(), s.db.write, query)
		}()
	}
	return nil
}

// query runs a read; write selects the writer pool outside transactions
// (for statements with RETURNING that modify rows).
func (s *sqlStore) queryOn(ctx context.Context, write bool, query string, args ...any) (*sql.Rows, error) {
	db := s.db.read
	if write {
		db = s.db.write
	}
	if s.db.dialect == dialectPostgres {
		if s.tx != nil {
			return s.tx.QueryContext(ctx, query, args...)
		}
		return db.QueryContext(ctx, query, args...)
	}
	if s.tx != nil {
		if st := s.cachedTxStmt(query); st != nil {
			return s.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		}
		return s.tx.QueryContext(ctx, query, args...)
	}
	st, err := s.stmt(ctx, db, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *sqlStore) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.queryOn(ctx, false, query, args...)
}

// queryOne runs a single-row query, scanning into dest; no row is ErrNotFound.
func (s *sqlStore) queryOne(ctx context.Context, write bool, query string, args []any, dest ...any) error {
	rows, err := s.queryOn(ctx, write, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return ErrNotFound
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// InTx implements Store.
func (s *sqlStore) InTx(ctx context.Context, fn func(tx Store) error) (err error) {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	txw := &txWrites{}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
		// After the commit or rollback, never before: until then a reader
		// must not trust what it reads of the learners written.
		txw.endTx()
	}()
	if err := fn(&sqlStore{db: s.db, tx: tx, txw: txw}); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Ping implements Store.
func (s *sqlStore) Ping(ctx context.Context) error {
	var one int
	if err := s.queryOne(ctx, false, "SELECT 1", nil, &one); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.db.dialect, err)
	}
	return nil
}

// Close implements Store.
func (s *sqlStore) Close() error {
	if s.tx != nil {
		return errors.New("store: Close called on a transaction")
	}
	var errs []error
	s.db.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	for _, c := range s.db.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// --- encoding helpers ---

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // []string always marshals
	return string(b)
}

func parseList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("store: corrupt list column: %w", err)
	}
	return v, nil
}

func jsonDoc(v json.RawMessage, empty string) string {
	if len(v) == 0 {
		return empty
	}
	return string(v)
}

func required(fields ...string) error {
	for i := 0; i < len(fields); i += 2 {
		if fields[i+1] == "" {
			return fmt.Errorf("%w: %s is required", ErrInvalid, fields[i])
		}
	}
	return nil
}

// insertOrConflict runs an INSERT ... ON CONFLICT DO NOTHING and maps "no
// row inserted" to ErrConflict. DO NOTHING instead of catching the error
// keeps a PostgreSQL transaction usable after a duplicate.
func (s *sqlStore) insertOrConflict(ctx context.Context, what, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return s.wrap(err, "insert "+what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: insert %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrConflict, what)
	}
	return nil
}

func (s *sqlStore) wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if s.db.isUnique != nil && s.db.isUnique(err) {
		return fmt.Errorf("%w: %s: %v", ErrConflict, op, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

func affectedOrNotFound(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return nil
}

// placeholders returns "($k,$k+1,...),(...)" for rows of n columns.
func placeholders(rows, cols, start int) string {
	var b strings.Builder
	p := start
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "$%d", p)
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}
