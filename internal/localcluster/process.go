// Package localcluster runs a real Kubernetes control plane as detached
// local processes (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok, cert-manager's controllers and anything else handed
// to it) that outlive the command that started them: each is its own
// process group with a pid file and a log file under one state directory,
// so that a later command lists or stops exactly what was started.
//
// It is used by hack/localup (`make local-up`). The component flags and the
// fake node are exported so that the envtest-based test harness
// (internal/testenv) starts the same components the same way.
package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Supervisor starts and stops detached processes recorded under Dir:
// Dir/pids/<name>.json (what was started) and Dir/logs/<name>.log (its
// output).
type Supervisor struct {
	Dir string

	// children are the processes started by this Supervisor value: it must
	// reap them itself (they are its children until it exits).
	children map[int]chan struct{}
}

// NewSupervisor returns a Supervisor for the state directory dir.
func NewSupervisor(dir string) *Supervisor {
	return &Supervisor{Dir: dir, children: map[int]chan struct{}{}}
}

// Spec is a process to start.
type Spec struct {
	// Name is unique within the Supervisor ("etcd", "clr-server-riverbend-clr").
	Name string
	// Path is the binary; Args its arguments.
	Path string
	Args []string
	// Dir is the working directory (the state directory when empty).
	Dir string
	// Env is added to the environment of the supervisor.
	Env []string
	// Credential runs the process as another user (PostgreSQL refuses root).
	Credential *syscall.Credential
	// StopSignal is sent to the process group to stop it (SIGTERM when 0).
	StopSignal syscall.Signal
}

// Record is what the pid file holds about a started process.
type Record struct {
	Name       string    `json:"name"`
	PID        int       `json:"pid"`
	Path       string    `json:"path"`
	Args       []string  `json:"args"`
	Log        string    `json:"log"`
	Started    time.Time `json:"started"`
	Seq        int       `json:"seq"`
	StopSignal int       `json:"stopSignal"`
}

// Running reports whether the recorded process is alive and is still the
// program that was started (a pid reused by another program is not ours).
func (r Record) Running() bool {
	if r.PID <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.PID))
	if err != nil {
		return false
	}
	// State is the field after the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) {
		if s := stat[i+2]; s == 'Z' || s == 'X' {
			return false
		}
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", r.PID))
	if err != nil {
		return false
	}
	// A binary rebuilt while running shows as "path (deleted)".
	exe = strings.TrimSuffix(exe, " (deleted)")
	want, err := filepath.EvalSymlinks(r.Path)
	if err != nil {
		want = r.Path
	}
	return exe == want || exe == r.Path
}

func (s *Supervisor) pidDir() string { return filepath.Join(s.Dir, "pids") }

// LogDir is where the processes' logs are.
func (s *Supervisor) LogDir() string { return filepath.Join(s.Dir, "logs") }

// LogPath is the log file of the named process.
func (s *Supervisor) LogPath(name string) string { return filepath.Join(s.LogDir(), name+".log") }

// Start starts a process detached (own process group, output to its log
// file, stdin from /dev/null) and records it. It fails if a process of that
// name is recorded and running, or if the process exits within a moment of
// starting (a bad flag, a port in use), with the end of its log.
func (s *Supervisor) Start(spec Spec) (Record, error) {
	if spec.Name == "" || strings.ContainsAny(spec.Name, "/ ") {
		return Record{}, fmt.Errorf("invalid process name %q", spec.Name)
	}
	if r, err := s.Get(spec.Name); err == nil && r.Running() {
		return Record{}, fmt.Errorf("%s is already running (pid %d)", spec.Name, r.PID)
	}
	for _, d := range []string{s.pidDir(), s.LogDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Record{}, err
		}
	}
	logPath := s.LogPath(spec.Name)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Record{}, fmt.Errorf("opening log of %s: %w", spec.Name, err)
	}
	defer logf.Close()
	if spec.Credential != nil {
		_ = os.Chown(logPath, int(spec.Credential.Uid), int(spec.Credential.Gid))
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return Record{}, err
	}
	defer devnull.Close()
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	if cmd.Dir == "" {
		cmd.Dir = s.Dir
	}
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	// Own process group and no parent-death signal: the process outlives
	// the command that started it and is stopped through its group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: spec.Credential}
	if err := cmd.Start(); err != nil {
		return Record{}, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if s.children == nil {
		s.children = map[int]chan struct{}{}
	}
	s.children[cmd.Process.Pid] = done
	sig := spec.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	rec := Record{Name: spec.Name, PID: cmd.Process.Pid, Path: spec.Path, Args: spec.Args, Log: logPath,
		Started: time.Now().UTC(), Seq: s.nextSeq(), StopSignal: int(sig)}
	if err := s.write(rec); err != nil {
		_ = syscall.Kill(-rec.PID, syscall.SIGKILL)
		<-done
		return Record{}, err
	}
	select {
	case <-done:
		s.remove(spec.Name)
		return Record{}, fmt.Errorf("%s exited at start; end of %s:\n%s", spec.Name, logPath, TailFile(logPath, 3000))
	case <-time.After(300 * time.Millisecond):
	}
	return rec, nil
}

func (s *Supervisor) nextSeq() int {
	recs, _ := s.List()
	n := 0
	for _, r := range recs {
		n = max(n, r.Seq)
	}
	return n + 1
}

func (s *Supervisor) write(r Record) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.pidDir(), r.Name+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("writing pid file of %s: %w", r.Name, err)
	}
	return os.Rename(tmp, path)
}

func (s *Supervisor) remove(name string) {
	_ = os.Remove(filepath.Join(s.pidDir(), name+".json"))
}

// Get returns the record of the named process.
func (s *Supervisor) Get(name string) (Record, error) {
	raw, err := os.ReadFile(filepath.Join(s.pidDir(), name+".json"))
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return Record{}, fmt.Errorf("pid file of %s: %w", name, err)
	}
	return r, nil
}

// List returns the recorded processes in start order.
func (s *Supervisor) List() ([]Record, error) {
	entries, err := os.ReadDir(s.pidDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		r, err := s.Get(name)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// Stop stops the named process: its stop signal to the process group, then
// SIGKILL to the group after grace. A record whose process is gone is just
// removed.
func (s *Supervisor) Stop(name string, grace time.Duration) error {
	r, err := s.Get(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Running() {
		sig := syscall.Signal(r.StopSignal)
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		_ = syscall.Kill(-r.PID, sig)
		if !s.waitGone(r, grace) {
			_ = syscall.Kill(-r.PID, syscall.SIGKILL)
			if !s.waitGone(r, 5*time.Second) {
				return fmt.Errorf("%s (pid %d) did not stop after SIGKILL", name, r.PID)
			}
		}
	}
	// Leftovers of the group (a child that ignored the signal) go too.
	if groupAlive(r.PID) {
		_ = syscall.Kill(-r.PID, syscall.SIGKILL)
	}
	s.remove(name)
	return nil
}

// StopAll stops every recorded process, the last started first.
func (s *Supervisor) StopAll(grace time.Duration) error {
	recs, err := s.List()
	if err != nil {
		return err
	}
	var errs []error
	for i := len(recs) - 1; i >= 0; i-- {
		if err := s.Stop(recs[i].Name, grace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Supervisor) waitGone(r Record, d time.Duration) bool {
	deadline := time.Now().Add(d)
	done := s.children[r.PID]
	for {
		if done != nil {
			select {
			case <-done:
				return true
			default:
			}
		} else if !r.Running() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupAlive reports whether any process is left in process group pgid.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// TailFile returns the last n bytes of a file (for error messages).
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Pid is a convenience for messages.
func (r Record) String() string { return r.Name + " (pid " + strconv.Itoa(r.PID) + ")" }
