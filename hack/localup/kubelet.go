package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// kubeletProcess is the name of the background sync process.
const kubeletProcess = "localup-kubelet"

// state is what up leaves for status, down and the kubelet.
type state struct {
	Tenants   []*tenant `json:"tenants"`
	Databases []string  `json:"databases,omitempty"`
	Contexts  string    `json:"contexts"`
	// TrustBundle is SSL_CERT_FILE of the tenants ("" = system roots).
	TrustBundle string `json:"trustBundle,omitempty"`
	// OIDC is the local OpenID Connect provider (nil with --external-oidc).
	OIDC *oidcState `json:"oidc,omitempty"`
}

func (l *layout) stateFile() string { return l.path("state.json") }

func (l *layout) loadState() (*state, error) {
	raw, err := os.ReadFile(l.stateFile())
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", l.stateFile(), err)
	}
	return &st, nil
}

func (l *layout) saveState(st *state) error {
	sort.Slice(st.Tenants, func(i, j int) bool { return st.Tenants[i].Key.String() < st.Tenants[j].Key.String() })
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(l.stateFile()+".tmp", raw, 0o644); err != nil {
		return err
	}
	return os.Rename(l.stateFile()+".tmp", l.stateFile())
}

// kubeletSyncPeriod is how often the kubelet compares the tenants' files
// and processes with what the operator wants.
const kubeletSyncPeriod = 2 * time.Second

// runKubelet is the background part of local-up standing in for the
// kubelet, so that the operator's later changes reach the local tenants:
// it rewrites the mirrored Secret and ConfigMap volumes when they change (a
// key renewal: clr-server picks up the files without restart), restarts a
// tenant whose pod template changed (new configuration), stops the process
// of a deleted CLRProvider and starts one for a new Ready CLRProvider.
func runKubelet(l *layout) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.SetFlags(log.LstdFlags | log.LUTC)
	cfg, err := clientcmd.BuildConfigFromFlags("", l.kubeconfig())
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return err
	}
	log.Printf("kubelet: syncing the local tenants every %s", kubeletSyncPeriod)
	for {
		if err := syncTenants(ctx, l, c); err != nil && ctx.Err() == nil {
			log.Printf("kubelet: %v", err)
		}
		select {
		case <-ctx.Done():
			log.Printf("kubelet: stopping")
			return nil
		case <-time.After(kubeletSyncPeriod):
		}
	}
}

// kubeletIdP keeps the local provider's registrations across rounds.
var kubeletIdP idpSync

func syncTenants(ctx context.Context, l *layout, c client.Client) error {
	st, err := l.loadState()
	if err != nil {
		return err
	}
	l.trustBundle = st.TrustBundle
	changed := false
	known := map[types.NamespacedName]bool{}
	var keep []*tenant
	for _, t := range st.Tenants {
		known[t.Key] = true
		p := &clrv1.CLRProvider{}
		if err := c.Get(ctx, t.Key, p); apierrors.IsNotFound(err) {
			log.Printf("kubelet: CLRProvider %s deleted: stopping %s", t.Key, t.Process)
			if err := l.sup.Stop(t.Process, grace(t.Process)); err != nil {
				log.Printf("kubelet: %v", err)
			}
			changed = true
			continue
		} else if err != nil {
			return err
		}
		keep = append(keep, t)
		dep := &appsv1.Deployment{}
		if err := c.Get(ctx, t.Key, dep); err != nil {
			if !apierrors.IsNotFound(err) {
				log.Printf("kubelet: %s: %v", t.Key, err)
			}
			continue
		}
		if h := templateHash(dep); h != t.Template {
			log.Printf("kubelet: %s: the pod template changed: restarting %s", t.Key, t.Process)
			if err := l.sup.Stop(t.Process, grace(t.Process)); err != nil {
				log.Printf("kubelet: %v", err)
				continue
			}
			nt, err := startTenant(ctx, l, c, t.Key, t.Port, t.MetricsPort, st.Contexts)
			if err != nil {
				log.Printf("kubelet: restarting %s: %v", t.Key, err)
				t.Template = h // do not retry a broken template every round
			} else {
				*t = *nt
			}
			changed = true
			continue
		}
		if err := resyncVolumes(ctx, c, t, dep); err != nil {
			log.Printf("kubelet: %s: %v", t.Key, err)
		}
	}
	st.Tenants = keep

	var list clrv1.CLRProviderList
	if err := c.List(ctx, &list); err != nil {
		return err
	}
	// Before a new tenant starts: its realm at the local provider, when
	// its issuerURL names one.
	if ch, err := kubeletIdP.sync(ctx, l, c, st, list.Items); err != nil {
		log.Printf("kubelet: the local OpenID Connect provider: %v", err)
	} else if ch {
		changed = true
	}
	for i := range list.Items {
		p := &list.Items[i]
		k := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
		if known[k] || !clrv1.IsReady(p) {
			continue
		}
		port, metricsPort := portTenantBase+1, portTenantMetricsBase+1
		for _, t := range st.Tenants {
			port, metricsPort = max(port, t.Port+1), max(metricsPort, t.MetricsPort+1)
		}
		log.Printf("kubelet: new Ready CLRProvider %s: starting its clr-server on 127.0.0.1:%d", k, port)
		t, err := startTenant(ctx, l, c, k, port, metricsPort, st.Contexts)
		if err != nil {
			log.Printf("kubelet: starting %s: %v", k, err)
			continue
		}
		st.Tenants = append(st.Tenants, t)
		changed = true
	}
	if changed {
		return l.saveState(st)
	}
	return nil
}

// resyncVolumes rewrites the tenant's Secret and ConfigMap volumes from the
// cluster (only files whose content changed).
func resyncVolumes(ctx context.Context, c client.Client, t *tenant, dep *appsv1.Deployment) error {
	volumes := map[string]corev1.Volume{}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, ctr := range dep.Spec.Template.Spec.Containers {
		if ctr.Name != "clr-server" {
			continue
		}
		for _, m := range ctr.VolumeMounts {
			v := volumes[m.Name]
			if v.Secret == nil && v.ConfigMap == nil {
				continue
			}
			if err := mountVolume(ctx, c, t.Key.Namespace, v, t.root()+m.MountPath); err != nil {
				return fmt.Errorf("volume %s: %w", m.Name, err)
			}
		}
	}
	return nil
}
