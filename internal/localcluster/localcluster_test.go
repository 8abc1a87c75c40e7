package localcluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: %v", name, err)
	}
	return p
}

func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && stat[i+2] != 'Z'
}

func TestSupervisorStartListStop(t *testing.T) {
	dir := t.TempDir()
	s := NewSupervisor(dir)
	sleep := lookPath(t, "sleep")
	a, err := s.Start(Spec{Name: "first", Path: sleep, Args: []string{"300"}})
	if err != nil {
		t.Fatal(err)
	}
	// A shell whose child would survive a kill of the shell alone: the
	// process group goes as a whole.
	b, err := s.Start(Spec{Name: "second", Path: lookPath(t, "sh"), Args: []string{"-c", "sleep 300 & echo child $!; wait"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(Spec{Name: "first", Path: sleep, Args: []string{"300"}}); err == nil {
		t.Fatal("starting a running name twice succeeded")
	}
	recs, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Name != "first" || recs[1].Name != "second" || !recs[0].Running() || !recs[1].Running() {
		t.Fatalf("List = %+v", recs)
	}
	// The child of the shell, from its log.
	var child int
	deadline := time.Now().Add(5 * time.Second)
	for child == 0 && time.Now().Before(deadline) {
		raw, _ := os.ReadFile(s.LogPath("second"))
		if f := strings.Fields(string(raw)); len(f) == 2 {
			child, _ = strconv.Atoi(f[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 || !alive(child) {
		t.Fatalf("no child of the shell seen (log %q)", TailFile(s.LogPath("second"), 200))
	}
	if err := s.StopAll(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{a.PID, b.PID, child} {
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("pid %d still running after StopAll", pid)
		}
	}
	if recs, _ := s.List(); len(recs) != 0 {
		t.Errorf("records left after StopAll: %+v", recs)
	}
}

func TestSupervisorReportsEarlyExit(t *testing.T) {
	s := NewSupervisor(t.TempDir())
	_, err := s.Start(Spec{Name: "bad", Path: lookPath(t, "sh"), Args: []string{"-c", "echo no such flag >&2; exit 3"}})
	if err == nil || !strings.Contains(err.Error(), "no such flag") {
		t.Fatalf("err = %v, want the exit reported with the log", err)
	}
	if recs, _ := s.List(); len(recs) != 0 {
		t.Errorf("a process that exited at start is still recorded: %+v", recs)
	}
}

func TestRecordRunningRejectsOtherProgram(t *testing.T) {
	s := NewSupervisor(t.TempDir())
	r, err := s.Start(Spec{Name: "p", Path: lookPath(t, "sleep"), Args: []string{"300"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.StopAll(time.Second)
	// The same pid recorded for another binary (a reused pid) is not ours.
	other := r
	other.Path = lookPath(t, "sh")
	if other.Running() {
		t.Error("a record naming another binary counts as running")
	}
	if !r.Running() {
		t.Error("the started process does not count as running")
	}
}

func TestPKIAndKubeconfig(t *testing.T) {
	dir := t.TempDir()
	p, err := GeneratePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(p.Path(CACert))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA not PEM")
	}
	check := func(certFile, keyFile string, usage x509.ExtKeyUsage, host string) *x509.Certificate {
		pair, err := tls.LoadX509KeyPair(p.Path(certFile), p.Path(keyFile))
		if err != nil {
			t.Fatalf("%s: %v", certFile, err)
		}
		c, _ := x509.ParseCertificate(pair.Certificate[0])
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: host}); err != nil {
			t.Errorf("%s does not verify: %v", certFile, err)
		}
		if fi, _ := os.Stat(p.Path(keyFile)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", keyFile, fi.Mode().Perm())
		}
		return c
	}
	check(APIServerCert, APIServerKey, x509.ExtKeyUsageServerAuth, "127.0.0.1")
	admin := check(AdminCert, AdminKey, x509.ExtKeyUsageClientAuth, "")
	if len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin groups %v", admin.Subject.Organization)
	}
	raw, _ := os.ReadFile(p.Path(ServiceAcctKey))
	if b, _ := pem.Decode(raw); b == nil {
		t.Error("service-account key not PEM")
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, p.AdminKubeconfig("https://127.0.0.1:6443"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:6443" || cfg.CertFile != p.Path(AdminCert) || cfg.CAFile != p.Path(CACert) {
		t.Errorf("kubeconfig gives %s cert %s ca %s", cfg.Host, cfg.CertFile, cfg.CAFile)
	}
}

func TestReadManifests(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("20-b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n# only a comment\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: c}\n")
	write("10-a.yml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
	write("Kustomization", "resources: [x]\n") // not *.yaml: skipped
	objs, err := ReadManifests(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if strings.Join(got, ",") != "Namespace/a,ConfigMap/b,Secret/c" {
		t.Errorf("objects %v", got)
	}
	write("30-bad.yaml", "metadata: {name: nokind}\n")
	if _, err := ReadManifests(dir); err == nil || !strings.Contains(err.Error(), "30-bad.yaml") {
		t.Errorf("a document without kind: err %v", err)
	}
}
