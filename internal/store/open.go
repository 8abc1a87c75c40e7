package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

//go:embed migrations
var migrationFS embed.FS

// SQLiteOptions tunes the SQLite store.
type SQLiteOptions struct {
	// Readers is the size of the read-only connection pool (default:
	// 4 × GOMAXPROCS, at least 4).
	Readers int
	// BusyTimeout bounds waiting for another process's lock (default 10 s).
	BusyTimeout time.Duration
}

// OpenSQLite opens (creating if needed) the SQLite database at path, in WAL
// mode, and applies pending migrations.
func OpenSQLite(ctx context.Context, path string, opts SQLiteOptions) (Store, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: sqlite path is empty", ErrInvalid)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, 4*runtime.GOMAXPROCS(0))
	}
	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	common.Add("_pragma", "foreign_keys(1)")
	writeQ := url.Values{}
	for k, v := range common {
		writeQ[k] = append([]string(nil), v...)
	}
	// synchronous=FULL: every commit is on disk before it returns. NORMAL
	// (in WAL mode) is as safe against corruption and skips that fsync,
	// but an OS crash or power loss may then roll back every transaction
	// since the last checkpoint, credentials whose 201 the registrar
	// already has: their status list indexes would be handed out again to
	// new credentials (revoking one would revoke the other), and their
	// idempotency keys forgotten. An issuing host must not forget what it
	// acknowledged; the fsync costs little next to signing
	// (docs/benchmarks.md, "issuance through the issuing API").
	writeQ.Add("_pragma", "journal_mode(WAL)")
	writeQ.Add("_pragma", "synchronous(FULL)")
	// Checkpoint every 10,000 WAL pages (40 MB) instead of 1,000: pages
	// written again and again by consecutive transactions (index leaves,
	// the status list row) are copied into the database file once per
	// checkpoint, and bulk issuance wrote 15 % less to disk for it.
	writeQ.Add("_pragma", "wal_autocheckpoint(10000)")
	writeQ.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", path+"?"+writeQ.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}

	readQ := common
	readQ.Add("_pragma", "query_only(1)")
	// Readers map the database file (256 MiB window) instead of pread()ing
	// every page into each connection's private page cache: GET credentials
	// touches a dozen pages per request, and with pread each was a system
	// call plus a copy (about a tenth of the server's CPU under 200
	// concurrent clients, docs/benchmarks.md). Pages still in the WAL are
	// read from the WAL as before, so readers see exactly what they did.
	// The larger page cache (16 MiB per reader) keeps the B-tree interior
	// pages of the hot indexes resident.
	readQ.Add("_pragma", "mmap_size(268435456)")
	readQ.Add("_pragma", "cache_size(-16384)")
	read, err := sql.Open("sqlite", path+"?"+readQ.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(opts.Readers)
	read.SetMaxIdleConns(opts.Readers)
	read.SetConnMaxIdleTime(0)

	db := &database{
		dialect:  dialectSQLite,
		write:    write,
		read:     read,
		isUnique: sqliteUnique,
		closers:  []func() error{read.Close, write.Close},
		versions: newCredentialVersions(),
	}
	s := &sqlStore{db: db}
	if err := migrate(ctx, db); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func sqliteUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// PostgresOptions tunes the PostgreSQL store.
type PostgresOptions struct {
	// MaxConns is the pool size (default: pgxpool's, max(4, NumCPU)).
	MaxConns int32
}

// OpenPostgres connects to PostgreSQL with a libpq connection string or URL
// and applies pending migrations (serialised across replicas by an
// advisory lock).
func OpenPostgres(ctx context.Context, dsn string, opts PostgresOptions) (Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password: never echo it.
		return nil, fmt.Errorf("store: postgres connection string is invalid")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to postgres %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to postgres %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	sdb := stdlib.OpenDBFromPool(pool)
	// database/sql must keep connections idle, else every statement
	// round-trips through pgxpool's acquire/release and a reset.
	sdb.SetMaxIdleConns(int(cfg.MaxConns))
	sdb.SetMaxOpenConns(int(cfg.MaxConns))
	db := &database{
		dialect:  dialectPostgres,
		write:    sdb,
		read:     sdb,
		isUnique: pgUnique,
		closers: []func() error{sdb.Close, func() error {
			pool.Close()
			return nil
		}},
	}
	s := &sqlStore{db: db}
	if err := migrate(ctx, db); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func pgUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Open opens the store the configuration selects. dataDir is the default
// home of the SQLite file. getenv may be nil (os.Getenv).
func Open(ctx context.Context, cfg serverconfig.Storage, dataDir string, getenv func(string) string) (Store, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch cfg.Driver {
	case serverconfig.StorageSQLite, "":
		path := cfg.SQLitePath
		if path == "" {
			path = filepath.Join(dataDir, "clr.db")
		}
		return OpenSQLite(ctx, path, SQLiteOptions{})
	case serverconfig.StoragePostgres:
		var dsn string
		switch {
		case cfg.PostgresDSNFile != "":
			b, err := os.ReadFile(cfg.PostgresDSNFile)
			if err != nil {
				return nil, fmt.Errorf("storage.postgresDSNFile: %w", err)
			}
			dsn = strings.TrimSpace(string(b))
		case cfg.PostgresDSNEnv != "":
			dsn = getenv(cfg.PostgresDSNEnv)
			if dsn == "" {
				return nil, fmt.Errorf("storage.postgresDSNEnv: environment variable %s is empty", cfg.PostgresDSNEnv)
			}
		default:
			return nil, fmt.Errorf("storage: postgres needs postgresDSNFile or postgresDSNEnv")
		}
		return OpenPostgres(ctx, dsn, PostgresOptions{})
	}
	return nil, fmt.Errorf("storage.driver: unknown driver %q (want sqlite or postgres)", cfg.Driver)
}

// Driver names the dialect of a store opened by this package ("sqlite",
// "postgres"), for logs and metrics.
func Driver(s Store) string {
	if ss, ok := s.(*sqlStore); ok {
		return ss.db.dialect.String()
	}
	return "unknown"
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(d dialect) ([]migration, error) {
	dir := "migrations/" + d.String()
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration file %s: name must be NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(migrationFS, dir+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("store: two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migrationLockID is the PostgreSQL advisory lock serialising migrations of
// replicas starting together (an arbitrary constant: "clr" + 1).
const migrationLockID = 0x636c7201

// migrate applies pending migrations, each in its own transaction together
// with its schema_migrations row, so a failed migration leaves nothing
// half-applied and a restart retries it.
func migrate(ctx context.Context, db *database) error {
	migs, err := loadMigrations(db.dialect)
	if err != nil {
		return err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if db.dialect == dialectPostgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLockID)); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLockID))
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("store: migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	latest := 0
	for _, m := range migs {
		latest = max(latest, m.version)
	}
	for v := range applied {
		if v > latest {
			return fmt.Errorf("store: database schema version %d is newer than this clr-server (%d): refusing to run an older binary against it", v, latest)
		}
	}
	for _, m := range migs {
		if applied[m.version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func SchemaVersion(ctx context.Context, s Store) (int, error) {
	ss, ok := s.(*sqlStore)
	if !ok {
		return 0, errors.New("store: not a SQL store")
	}
	var v sql.NullInt64
	if err := ss.queryOne(ctx, false, `SELECT max(version) FROM schema_migrations`, nil, &v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}
