package crd

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1alpha1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

const immutableNamespace = "crd-immutable"

// TestImmutableFields proves that changes which would orphan data are
// rejected on update, and that the allowed changes next to them go through.
func TestImmutableFields(t *testing.T) {
	ensureNamespace(t, immutableNamespace)

	newProvider := func(t *testing.T, name string, storage clrv1alpha1.ProviderStorage) *clrv1alpha1.CLRProvider {
		t.Helper()
		p := &clrv1alpha1.CLRProvider{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: immutableNamespace},
			Spec: clrv1alpha1.CLRProviderSpec{
				IssuerRefs: []clrv1alpha1.LocalObjectReference{{Name: "harbor-college"}},
				Hostname:   "records.harbor.edu",
				Storage:    storage,
			},
		}
		if err := k8s.Create(ctx(t), p); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		return p
	}
	sqlite := func(size string, class *string) clrv1alpha1.ProviderStorage {
		return clrv1alpha1.ProviderStorage{SQLite: &clrv1alpha1.SQLiteStorage{Size: new(resource.MustParse(size)), StorageClassName: class}}
	}
	postgres := clrv1alpha1.ProviderStorage{Postgres: &clrv1alpha1.PostgresStorage{SecretRef: clrv1alpha1.PostgresSecretReference{Name: "harbor-db"}}}

	// update applies mutate to a fresh copy and returns the API error.
	update := func(t *testing.T, p *clrv1alpha1.CLRProvider, mutate func(*clrv1alpha1.CLRProvider)) error {
		t.Helper()
		cur := &clrv1alpha1.CLRProvider{}
		if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(p), cur); err != nil {
			t.Fatalf("reading %s: %v", p.Name, err)
		}
		mutate(cur)
		return k8s.Update(ctx(t), cur)
	}
	wantRejected := func(t *testing.T, err error, field, message string) {
		t.Helper()
		if err == nil {
			t.Fatalf("update accepted; want a rejection at %s", field)
		}
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), message) {
			t.Fatalf("rejected with %v; want Invalid at %s saying %q", err, field, message)
		}
	}

	t.Run("sqlite to postgres", func(t *testing.T) {
		p := newProvider(t, "sqlite-to-postgres", sqlite("1Gi", nil))
		err := update(t, p, func(c *clrv1alpha1.CLRProvider) { c.Spec.Storage = postgres })
		wantRejected(t, err, "spec.storage", "storage kind (sqlite or postgres) is immutable")
	})
	t.Run("postgres to sqlite", func(t *testing.T) {
		p := newProvider(t, "postgres-to-sqlite", postgres)
		err := update(t, p, func(c *clrv1alpha1.CLRProvider) {
			c.Spec.Storage = sqlite("1Gi", nil)
			c.Spec.Replicas = new(int32(1))
		})
		wantRejected(t, err, "spec.storage", "storage kind (sqlite or postgres) is immutable")
	})
	t.Run("postgres secret may change", func(t *testing.T) {
		p := newProvider(t, "postgres-rotate", postgres)
		if err := update(t, p, func(c *clrv1alpha1.CLRProvider) { c.Spec.Storage.Postgres.SecretRef.Name = "harbor-db-v2" }); err != nil {
			t.Fatalf("changing the PostgreSQL Secret was rejected: %v", err)
		}
	})
	t.Run("storage class set later", func(t *testing.T) {
		p := newProvider(t, "class-set", sqlite("1Gi", nil))
		err := update(t, p, func(c *clrv1alpha1.CLRProvider) { c.Spec.Storage.SQLite.StorageClassName = new("fast-ssd") })
		wantRejected(t, err, "spec.storage.sqlite.storageClassName", "is immutable")
	})
	t.Run("storage class changed", func(t *testing.T) {
		p := newProvider(t, "class-change", sqlite("1Gi", new("standard")))
		err := update(t, p, func(c *clrv1alpha1.CLRProvider) { c.Spec.Storage.SQLite.StorageClassName = new("fast-ssd") })
		wantRejected(t, err, "spec.storage.sqlite.storageClassName", "is immutable")
	})
	t.Run("volume shrinks", func(t *testing.T) {
		p := newProvider(t, "shrink", sqlite("2Gi", nil))
		err := update(t, p, func(c *clrv1alpha1.CLRProvider) { c.Spec.Storage.SQLite.Size = new(resource.MustParse("1536Mi")) })
		wantRejected(t, err, "spec.storage.sqlite.size", "cannot shrink")
	})
	t.Run("volume grows", func(t *testing.T) {
		p := newProvider(t, "grow", sqlite("2Gi", nil))
		if err := update(t, p, func(c *clrv1alpha1.CLRProvider) { c.Spec.Storage.SQLite.Size = new(resource.MustParse("10Gi")) }); err != nil {
			t.Fatalf("growing the volume was rejected: %v", err)
		}
	})
	t.Run("sqlite provider scaled to two", func(t *testing.T) {
		p := newProvider(t, "scale-sqlite", sqlite("1Gi", nil))
		err := update(t, p, func(c *clrv1alpha1.CLRProvider) { c.Spec.Replicas = new(int32(2)) })
		wantRejected(t, err, "spec.replicas", "SQLite file cannot be shared")
	})
}
