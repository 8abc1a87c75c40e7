// Package pgtest starts a real PostgreSQL server on loopback for tests: one
// server per test package (start it in TestMain), a fresh database per test.
//
// It uses the machine's initdb and postgres (PATH, then
// /usr/lib/postgresql/*/bin, as Debian installs them). When run as root
// (CI containers) the server runs as the "postgres" user, since PostgreSQL
// refuses to run as root. Missing binaries are an error, not a skip: the
// PostgreSQL store is part of what the tests prove.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running PostgreSQL server.
type Server struct {
	// Dir is the temporary directory holding the data and the socket.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// BinDir is where the binaries were found.
	BinDir string

	cred    *syscall.Credential
	counter atomic.Int64
	cmd     *exec.Cmd
	exited  chan error
}

// installHint is the message when PostgreSQL is missing.
const installHint = "PostgreSQL server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin: run hack/install-deps.sh"

// FindBinDir locates the directory holding initdb and postgres.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if hasAll(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if hasAll(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtest: %s", installHint)
}

func majorOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func hasAll(dir string) bool {
	for _, b := range []string{"initdb", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// Start initialises a cluster in a new temporary directory and starts it on
// a free loopback port. Call Stop when done (TestMain: after m.Run).
func Start() (*Server, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	parent := ""
	if os.Geteuid() == 0 {
		// The postgres user must be able to reach the directory; $TMPDIR
		// may be under root's home, /tmp is world-traversable.
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{Dir: dir, BinDir: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root needs a 'postgres' user to run the server as (run hack/install-deps.sh): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// The postmaster runs as our child (not daemonised by pg_ctl) with a
	// parent-death signal, so a test binary killed by a timeout or a panic
	// takes its server with it instead of leaving it running.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := s.startPostgres(data, port); err == nil {
			return s, nil
		} else {
			lastErr = err
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func (s *Server) startPostgres(data string, port int) error {
	logf, err := os.Create(filepath.Join(s.Dir, "log"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.BinDir, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(port), "-k", s.Dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGINT is PostgreSQL's fast shutdown.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.Port = port
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case werr := <-exited:
			logTail, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
			return fmt.Errorf("pgtest: postgres exited: %v\n%s", werr, tail(logTail, 2000))
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			<-exited
			return fmt.Errorf("pgtest: postgres not accepting connections after 60s: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.BinDir, name), args...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// Only short-lived tools (initdb) run here; the postmaster is started
	// by startPostgres.
	err := cmd.Run()
	return out.Bytes(), err
}

// DSN is the connection string of database name (user postgres, no
// password: trust authentication on loopback).
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}

// NewDatabase creates a fresh, uniquely named database and returns its DSN.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.counter.Add(1))
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.DSN(name), nil
}

// Stop stops the server (fast shutdown) and removes its directory.
func (s *Server) Stop() error {
	var err error
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			err = fmt.Errorf("pgtest: postgres did not stop within 30s; killed")
		}
	}
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// Ready waits until the server accepts connections (Start has already
// waited; useful to callers that share the server across goroutines).
func (s *Server) Ready(ctx context.Context) error {
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: server not ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
