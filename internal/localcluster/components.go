package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// EtcdArgs are etcd's flags: one member, loopback only, data in dataDir.
func EtcdArgs(dataDir string, clientPort, peerPort int) []string {
	client := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	return []string{
		"--name=clr-local", "--data-dir=" + dataDir,
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=clr-local=" + peer,
		// A throw-away store: no fsync.
		"--unsafe-no-fsync=true", "--log-level=warn",
	}
}

// APIServerArgs are kube-apiserver's flags, as envtest sets them (RBAC,
// service CIDR 10.0.0.0/24, no ServiceAccount admission) plus client
// certificates from pki.
func APIServerArgs(pki PKI, etcdPort, securePort int) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		// No advertise address: the apiserver takes the host's (a loopback
		// one is refused); nothing in-cluster dials the kubernetes Service.
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(securePort),
		"--tls-cert-file=" + pki.Path(APIServerCert), "--tls-private-key-file=" + pki.Path(APIServerKey),
		"--client-ca-file=" + pki.Path(CACert),
		"--service-account-issuer=https://127.0.0.1:" + strconv.Itoa(securePort),
		"--service-account-key-file=" + pki.Path(ServiceAcctPub),
		"--service-account-signing-key-file=" + pki.Path(ServiceAcctKey),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		// Pods of tests and of local-up do not mount tokens; without the
		// plugin a namespace's default ServiceAccount need not exist yet.
		"--disable-admission-plugins=ServiceAccount",
		"--v=1",
	}
}

// DefaultControllers are the kube-controller-manager controllers the
// operator's children need: Deployments roll out, default ServiceAccounts
// appear, disruption budgets and garbage collection work, claims bind.
var DefaultControllers = []string{
	"deployment-controller", "replicaset-controller", "serviceaccount-controller",
	"disruption-controller", "garbage-collector-controller", "persistentvolume-binder-controller",
}

// ControllerManagerArgs are kube-controller-manager's flags.
func ControllerManagerArgs(kubeconfig string, controllers []string) []string {
	if len(controllers) == 0 {
		controllers = DefaultControllers
	}
	return []string{
		"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--leader-elect=false", "--secure-port=0",
		"--controllers=" + strings.Join(controllers, ","),
		// The garbage collector and disruption controller would otherwise
		// wait for informers of every API before acting.
		"--concurrent-gc-syncs=5", "--v=1",
	}
}

// SchedulerArgs are kube-scheduler's flags.
func SchedulerArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--leader-elect=false", "--secure-port=0", "--v=1",
	}
}

// KwokArgs are kwok's flags: it manages only nodes annotated as fake
// (FakeNode) with the given Stage configuration.
func KwokArgs(kubeconfig, stages string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig, "--config=" + stages,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-ip=10.0.0.1", "--cidr=10.0.0.1/24", "--server-address=127.0.0.1:0", "-v=WARN",
	}
}

// CertManagerArgs are the flags of the project's cert-manager controller
// program (hack/tools/cert-manager).
func CertManagerArgs(kubeconfig string) []string {
	return []string{"--kubeconfig=" + kubeconfig, "--v=1"}
}

// FakeNodeName is the kwok node pods are scheduled to.
const FakeNodeName = "kwok-node-0"

// FakeNode is the node kwok plays the kubelet of. It is as large as the
// scale benchmark needs: 1,000 tenants with -workloads are 1,000 pods
// requesting 50m CPU and 64Mi each (a real cluster spreads them over
// many nodes).
func FakeNode() *corev1.Node {
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("256"), corev1.ResourceMemory: resource.MustParse("1Ti"), corev1.ResourcePods: resource.MustParse("2000")}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": FakeNodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
		},
		Status: corev1.NodeStatus{Allocatable: capacity, Capacity: capacity},
	}
}

// EnsureFakeNode creates the fake node (if missing) and waits until kwok
// reports it Ready and it carries no taint.
func EnsureFakeNode(ctx context.Context, c client.Client) error {
	node := FakeNode()
	if err := c.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating fake node: %w", err)
	}
	for {
		n := &corev1.Node{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(node), n); err == nil {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					// The TaintNodesByCondition admission plugin taints a
					// new node not-ready; in a cluster the node lifecycle
					// controller lifts it once the kubelet (here kwok)
					// reports Ready. We lift it ourselves rather than run
					// that controller, whose evictions are not wanted.
					if len(n.Spec.Taints) == 0 {
						return nil
					}
					n.Spec.Taints = nil
					if err := c.Update(ctx, n); err != nil && !apierrors.IsConflict(err) {
						return fmt.Errorf("removing the fake node's taints: %w", err)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fake node %s never became Ready: %w", FakeNodeName, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// CheckPortsFree fails naming the first loopback port already in use.
func CheckPortsFree(ports map[string]int) error {
	for what, port := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return fmt.Errorf("port %d (%s) is in use on 127.0.0.1: %w", port, what, err)
		}
		l.Close()
	}
	return nil
}

// WaitHTTP polls url until it answers 200 or ctx ends; alive is checked on
// each round so that a process that died is reported at once.
func WaitHTTP(ctx context.Context, hc *http.Client, url string, alive func() error) error {
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Second}
	}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if alive != nil {
			if err := alive(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (%s): %w", url, last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// AdminHTTPClient is an HTTP client authenticating to the apiserver with
// the admin certificate (for /readyz before any Kubernetes client exists).
func (p PKI) AdminHTTPClient() (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(p.Path(AdminCert), p.Path(AdminKey))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(p.Path(CACert))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}, nil
}
