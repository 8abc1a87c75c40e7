package crd

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1alpha1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

const defaultsNamespace = "crd-defaults"

func TestDefaultsApply(t *testing.T) {
	ensureNamespace(t, defaultsNamespace)

	t.Run("Issuer", func(t *testing.T) {
		in := &clrv1alpha1.Issuer{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: defaultsNamespace},
			Spec: clrv1alpha1.IssuerSpec{
				Profile: clrv1alpha1.IssuerProfile{Name: "Minimal College"},
			},
		}
		got := createAndGet(t, in, &clrv1alpha1.Issuer{})
		s := got.Spec.Signing
		if s.Algorithm != clrv1alpha1.KeyAlgorithmEd25519 {
			t.Errorf("signing.algorithm = %q, want Ed25519", s.Algorithm)
		}
		if want := []clrv1alpha1.ProofFormat{clrv1alpha1.ProofFormatDataIntegrity, clrv1alpha1.ProofFormatVCJWT}; !slices.Equal(s.ProofFormats, want) {
			t.Errorf("signing.proofFormats = %v, want %v", s.ProofFormats, want)
		}
		wantDuration(t, "signing.duration", s.Duration, 2160*time.Hour)
		wantDuration(t, "signing.renewBefore", s.RenewBefore, 360*time.Hour)
		wantDuration(t, "signing.retiredKeyRetention", s.RetiredKeyRetention, 8760*time.Hour)
		if s.IssuerRef != nil {
			t.Errorf("signing.issuerRef = %+v, want none", s.IssuerRef)
		}
		if s.Cryptosuite != "" || s.EffectiveCryptosuite() != clrv1alpha1.CryptosuiteEdDSARDFC2022 {
			t.Errorf("cryptosuite %q (effective %q), want empty (effective eddsa-rdfc-2022)", s.Cryptosuite, s.EffectiveCryptosuite())
		}
	})

	t.Run("Issuer cert-manager reference", func(t *testing.T) {
		in := &clrv1alpha1.Issuer{
			ObjectMeta: metav1.ObjectMeta{Name: "with-ca", Namespace: defaultsNamespace},
			Spec: clrv1alpha1.IssuerSpec{
				Profile: clrv1alpha1.IssuerProfile{Name: "CA College"},
				Signing: clrv1alpha1.IssuerSigning{
					Algorithm: clrv1alpha1.KeyAlgorithmECDSAP384,
					IssuerRef: &clrv1alpha1.CertManagerIssuerReference{Name: "credential-ca"},
				},
			},
		}
		got := createAndGet(t, in, &clrv1alpha1.Issuer{})
		ref := got.Spec.Signing.IssuerRef
		if ref == nil || ref.Kind != "Issuer" || ref.Group != "cert-manager.io" {
			t.Errorf("signing.issuerRef = %+v, want kind Issuer, group cert-manager.io", ref)
		}
		if got.Spec.Signing.Algorithm != clrv1alpha1.KeyAlgorithmECDSAP384 {
			t.Errorf("an explicit algorithm was overwritten: %q", got.Spec.Signing.Algorithm)
		}
		if len(got.Spec.Signing.ProofFormats) != 2 {
			t.Errorf("signing.proofFormats = %v, want both formats", got.Spec.Signing.ProofFormats)
		}
	})

	t.Run("Framework", func(t *testing.T) {
		in := &clrv1alpha1.Framework{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: defaultsNamespace},
			Spec: clrv1alpha1.FrameworkSpec{
				Title: "Minimal Outcomes",
				Competencies: []clrv1alpha1.Competency{
					{ID: "writing", Name: "Writing"},
					{ID: "research", Name: "Research", Type: "ext:Research"},
				},
			},
		}
		got := createAndGet(t, in, &clrv1alpha1.Framework{})
		if got.Spec.Competencies[0].Type != "Competency" {
			t.Errorf("competencies[0].type = %q, want Competency", got.Spec.Competencies[0].Type)
		}
		if got.Spec.Competencies[1].Type != "ext:Research" {
			t.Errorf("an explicit type was overwritten: %q", got.Spec.Competencies[1].Type)
		}
	})

	t.Run("CLRProvider on SQLite", func(t *testing.T) {
		in := &clrv1alpha1.CLRProvider{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: defaultsNamespace},
			Spec: clrv1alpha1.CLRProviderSpec{
				IssuerRefs: []clrv1alpha1.LocalObjectReference{{Name: "minimal"}},
				Hostname:   "records.minimal.edu",
				Storage:    clrv1alpha1.ProviderStorage{SQLite: &clrv1alpha1.SQLiteStorage{}},
			},
		}
		got := createAndGet(t, in, &clrv1alpha1.CLRProvider{})
		if got.Spec.Replicas == nil || *got.Spec.Replicas != 1 {
			t.Errorf("replicas = %v, want 1", got.Spec.Replicas)
		}
		if size := got.Spec.Storage.SQLite.Size; size == nil || size.Cmp(resource.MustParse("1Gi")) != 0 {
			t.Errorf("storage.sqlite.size = %s, want 1Gi", size.String())
		}
		o := got.Spec.OAuth
		if o.DynamicRegistration == nil || !*o.DynamicRegistration {
			t.Errorf("oauth.dynamicRegistration = %v, want true", o.DynamicRegistration)
		}
		wantDuration(t, "oauth.accessTokenTTL", o.AccessTokenTTL, time.Hour)
		wantDuration(t, "oauth.refreshTokenTTL", o.RefreshTokenTTL, 720*time.Hour)
		if got.Spec.Paused {
			t.Errorf("paused = true, want false")
		}
	})

	t.Run("CLRProvider on PostgreSQL with OIDC", func(t *testing.T) {
		in := &clrv1alpha1.CLRProvider{
			ObjectMeta: metav1.ObjectMeta{Name: "postgres", Namespace: defaultsNamespace},
			Spec: clrv1alpha1.CLRProviderSpec{
				IssuerRefs: []clrv1alpha1.LocalObjectReference{{Name: "minimal"}},
				Hostname:   "records.minimal.edu",
				Replicas:   new(int32(3)),
				Storage: clrv1alpha1.ProviderStorage{Postgres: &clrv1alpha1.PostgresStorage{
					SecretRef: clrv1alpha1.PostgresSecretReference{Name: "minimal-db"},
				}},
				OAuth: clrv1alpha1.ProviderOAuth{OIDC: &clrv1alpha1.OIDCProvider{
					IssuerURL:       "https://login.minimal.edu",
					ClientID:        "clr",
					ClientSecretRef: clrv1alpha1.OIDCClientSecretReference{Name: "minimal-oidc"},
				}},
			},
		}
		got := createAndGet(t, in, &clrv1alpha1.CLRProvider{})
		if k := got.Spec.Storage.Postgres.SecretRef.Key; k != "dsn" {
			t.Errorf("storage.postgres.secretRef.key = %q, want dsn", k)
		}
		if k := got.Spec.OAuth.OIDC.ClientSecretRef.Key; k != "client-secret" {
			t.Errorf("oauth.oidc.clientSecretRef.key = %q, want client-secret", k)
		}
		if got.Spec.Replicas == nil || *got.Spec.Replicas != 3 {
			t.Errorf("replicas = %v, want the 3 asked for", got.Spec.Replicas)
		}
	})
}

// createAndGet creates obj and reads it back into into, as stored.
func createAndGet[T client.Object](t *testing.T, obj client.Object, into T) T {
	t.Helper()
	if err := k8s.Create(ctx(t), obj); err != nil {
		t.Fatalf("creating %T: %v", obj, err)
	}
	if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(obj), into); err != nil {
		t.Fatalf("reading back %T: %v", obj, err)
	}
	return into
}

func wantDuration(t *testing.T, field string, got *metav1.Duration, want time.Duration) {
	t.Helper()
	if got == nil || got.Duration != want {
		t.Errorf("%s = %v, want %s", field, got, want)
	}
}
