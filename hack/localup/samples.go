package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/localcluster"
)

// labelLocalUp marks what local-up created itself (not the samples).
const labelLocalUp = "clr.learnerrecords.io/created-by"

// applySamples applies config/samples after creating what its comments
// say is needed and not included: for each CLRProvider, its PostgreSQL
// DSN Secret (with a database on the local server), its OIDC client
// secret (and, unless --external-oidc, its issuerURL pointed at a realm of
// the local OpenID Connect provider), its Ingress TLS Secret or a self-signed stand-in for the
// cert-manager issuer it names, and a volume for a SQLite tenant. It
// returns the providers' keys in namespace/name order.
func applySamples(ctx context.Context, l *layout, c client.Client, pg *postgres) ([]types.NamespacedName, error) {
	rel, _ := filepath.Rel(l.Root, l.Samples)
	l.step("applying %s with the Secrets, issuer and volumes they need", rel)
	objs, err := localcluster.ReadManifests(l.Samples)
	if err != nil {
		return nil, fmt.Errorf("reading the samples: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var namespaces, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			namespaces = append(namespaces, o)
		} else {
			rest = append(rest, o)
		}
	}
	if err := localcluster.Apply(actx, c, namespaces); err != nil {
		return nil, err
	}
	var keys []types.NamespacedName
	for _, o := range rest {
		if o.GetKind() != "CLRProvider" {
			continue
		}
		if o.GetNamespace() == "" {
			o.SetNamespace("default")
		}
		if err := prepareProvider(actx, l, c, pg, o, rest); err != nil {
			return nil, fmt.Errorf("preparing CLRProvider %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
		keys = append(keys, types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()})
	}
	if err := localcluster.Apply(actx, c, rest); err != nil {
		return nil, err
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no CLRProvider", l.Samples)
	}
	return keys, nil
}

// objs are the manifests being applied (for the Issuers' names).
func prepareProvider(ctx context.Context, l *layout, c client.Client, pg *postgres, o *unstructured.Unstructured, objs []*unstructured.Unstructured) error {
	p := &clrv1.CLRProvider{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, p); err != nil {
		return err
	}
	ns := p.Namespace
	if s := p.Spec.Storage.Postgres; s != nil {
		if pg.binDir == "" {
			// No PostgreSQL on this machine: one SQLite replica instead.
			fmt.Printf("  NOTE: %s/%s asks for PostgreSQL, which is not available here (%s);\n"+
				"        running it on SQLite with 1 replica instead. Install PostgreSQL (hack/install-deps.sh) for the sample as written.\n",
				ns, p.Name, pg.unavailable)
			if err := unstructured.SetNestedField(o.Object, map[string]any{"sqlite": map[string]any{"size": "1Gi"}}, "spec", "storage"); err != nil {
				return err
			}
			if err := unstructured.SetNestedField(o.Object, int64(1), "spec", "replicas"); err != nil {
				return err
			}
			p.Spec.Storage = clrv1.ProviderStorage{SQLite: &clrv1.SQLiteStorage{}}
		} else {
			dsn, err := pg.createDatabase(ctx, ns, p.Name)
			if err != nil {
				return err
			}
			key := s.SecretRef.Key
			if key == "" {
				key = "dsn"
			}
			if err := createSecret(ctx, c, ns, s.SecretRef.Name, corev1.SecretTypeOpaque, map[string][]byte{key: []byte(dsn)}); err != nil {
				return err
			}
		}
	}
	if s := p.Spec.Storage.SQLite; s != nil {
		if err := createVolume(ctx, l, c, p); err != nil {
			return err
		}
	}
	if oidc := p.Spec.OAuth.OIDC; oidc != nil {
		key := oidc.ClientSecretRef.Key
		if key == "" {
			key = "client-secret"
		}
		secret := make([]byte, 24)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		if err := createSecret(ctx, c, ns, oidc.ClientSecretRef.Name, corev1.SecretTypeOpaque, map[string][]byte{key: []byte(hex.EncodeToString(secret))}); err != nil {
			return err
		}
		if l.idp != nil {
			if err := l.idp.addProvider(ctx, c, o, p, objs); err != nil {
				return err
			}
		}
	}
	if in := p.Spec.Ingress; in != nil && in.TLS != nil {
		if in.TLS.SecretName != "" {
			crt, key, err := localcluster.SelfSignedTLS(p.Spec.Hostname)
			if err != nil {
				return err
			}
			if err := createSecret(ctx, c, ns, in.TLS.SecretName, corev1.SecretTypeTLS, map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key}); err != nil {
				return err
			}
		}
		if ref := in.TLS.IssuerRef; ref != nil {
			if err := createSelfSignedIssuer(ctx, c, ns, ref.Kind, ref.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func createSecret(ctx context.Context, c client.Client, ns, name string, typ corev1.SecretType, data map[string][]byte) error {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{labelLocalUp: "localup"}},
		Type:       typ, Data: data,
	}
	if err := c.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Secret %s/%s: %w", ns, name, err)
	}
	return nil
}

// createSelfSignedIssuer stands in for the cert-manager issuer a sample
// names (letsencrypt-prod): a selfSigned one, as no ACME server is
// reachable from a laptop for these hostnames.
func createSelfSignedIssuer(ctx context.Context, c client.Client, ns, kind, name string) error {
	if kind == "" {
		kind = "Issuer"
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1",
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "labels": map[string]any{labelLocalUp: "localup"}},
		"spec":       map[string]any{"selfSigned": map[string]any{}},
	}}
	if kind == "Issuer" {
		u.SetNamespace(ns)
	}
	fmt.Printf("  %s %s: a self-signed stand-in (no ACME server is reachable locally)\n", kind, name)
	return localcluster.Apply(ctx, c, []*unstructured.Unstructured{u})
}

// createVolume pre-provisions a hostPath PersistentVolume bound to the
// SQLite tenant's claim (<name>-data): no volume provisioner runs here.
func createVolume(ctx context.Context, l *layout, c client.Client, p *clrv1.CLRProvider) error {
	size := resource.MustParse("1Gi")
	class := ""
	if s := p.Spec.Storage.SQLite; s != nil {
		if s.Size != nil && !s.Size.IsZero() {
			size = *s.Size
		}
		if s.StorageClassName != nil {
			class = *s.StorageClassName
		}
	}
	name := "localup-" + p.Namespace + "-" + p.Name
	dir := l.path("volumes", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelLocalUp: "localup"}},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:              class,
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: p.Namespace, Name: p.Name + "-data"},
		},
	}
	if err := c.Create(ctx, pv); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating PersistentVolume %s: %w", name, err)
	}
	return nil
}

// waitProvidersReady waits until every provider is Ready, printing each
// change of its Ready reason; on timeout it names what each one waits for.
func waitProvidersReady(ctx context.Context, l *layout, c client.Client, keys []types.NamespacedName) error {
	l.step("waiting for %d CLRProviders to become Ready (Issuers' keys from cert-manager, Deployments on the fake node)", len(keys))
	wctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	last := map[types.NamespacedName]string{}
	for {
		pending := 0
		for _, k := range keys {
			p := &clrv1.CLRProvider{}
			if err := c.Get(wctx, k, p); err != nil {
				last[k] = "reading: " + err.Error()
				pending++
				continue
			}
			msg := "no Ready condition yet"
			if cond := clrv1.FindCondition(p, clrv1.ConditionReady); cond != nil {
				msg = cond.Reason + ": " + cond.Message
			}
			if clrv1.IsReady(p) {
				msg = "Ready"
			} else {
				pending++
			}
			if last[k] != msg {
				l.step("  %s: %s", k, msg)
				last[k] = msg
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-wctx.Done():
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "\n  %s: %s", k, last[k])
			}
			return fmt.Errorf("CLRProviders not Ready after %s (operator log: %s):%s", readyTimeout, l.sup.LogPath("operator"), b.String())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
