package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/pgtest"
)

// postgres is the local PostgreSQL server for tenants on PostgreSQL. With
// no server binaries on the machine, binDir is empty and those tenants are
// switched to SQLite (with a message saying so).
type postgres struct {
	binDir      string
	cred        *syscall.Credential
	unavailable string // why there is no PostgreSQL
	databases   []string
}

func planPostgres() (postgres, error) {
	bin, err := pgtest.FindBinDir()
	if err != nil {
		return postgres{unavailable: err.Error()}, nil
	}
	pg := postgres{binDir: bin}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return postgres{unavailable: "running as root needs a 'postgres' user to run the server as (hack/install-deps.sh creates it)"}, nil
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return pg, nil
}

func (pg *postgres) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", portPostgres, db)
}

// startPostgres initialises a cluster under tmp/local/postgres and runs the
// server on loopback (trust authentication: nothing but this machine's
// users reach 127.0.0.1).
func startPostgres(ctx context.Context, l *layout, pg *postgres) error {
	dir := l.path("postgres")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if pg.cred != nil {
		if err := os.Chown(dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(pg.binDir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.Dir = dir
	initdb.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if _, err := l.sup.Start(localcluster.Spec{Name: "postgres", Path: filepath.Join(pg.binDir, "postgres"),
		Args: []string{"-D", data, "-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(portPostgres), "-k", dir,
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"},
		Dir: dir, Env: []string{"LC_ALL=C", "TZ=UTC"}, Credential: pg.cred,
		// SIGINT is PostgreSQL's fast shutdown.
		StopSignal: syscall.SIGINT}); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(wctx, pg.dsn("postgres"))
		if err == nil {
			return conn.Close(wctx)
		}
		if r, gerr := l.sup.Get("postgres"); gerr != nil || !r.Running() {
			return fmt.Errorf("postgres exited; end of its log:\n%s", localcluster.TailFile(l.sup.LogPath("postgres"), 3000))
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("postgres does not accept connections: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createDatabase creates a database for one tenant and returns its DSN.
func (pg *postgres) createDatabase(ctx context.Context, namespace, name string) (string, error) {
	db := "clr_" + strings.NewReplacer("-", "_", ".", "_").Replace(namespace+"_"+name)
	conn, err := pgx.Connect(ctx, pg.dsn("postgres"))
	if err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return "", fmt.Errorf("creating database %s: %w", db, err)
	}
	pg.databases = append(pg.databases, db)
	return pg.dsn(db), nil
}
