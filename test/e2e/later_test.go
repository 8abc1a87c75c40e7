//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// A platform engineer tries local-up, then applies an institution of her
// own (namespace, Issuer, client-secret Secret, CLRProvider) whose
// issuerURL names a realm of local-up's OpenID Connect provider: the
// kubelet starts its clr-server and registers the realm and client at the
// running provider, so that a learner signs in there; the samples' realms
// keep working, and deleting the CLRProvider drops only its realm.
func TestLaterInstitutionSignsInAtTheLocalProvider(t *testing.T) {
	const ns = "e2e-later-college"
	key := types.NamespacedName{Namespace: ns, Name: "later-clr"}
	issuerURL := state.OIDC.BaseURL + "/realms/" + ns
	secret := rand.Text()
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&clrv1.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later-college"}, Spec: clrv1.IssuerSpec{
			Profile: clrv1.IssuerProfile{Name: "Later College", URL: "https://www.later-college.test", Email: "registrar@later-college.test"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later-clr-oidc"}, Data: map[string][]byte{"client-secret": []byte(secret)}},
		// No volume provisioner runs locally: a volume bound to the
		// tenant's claim, as local-up makes for the samples.
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + ns}, Spec: corev1.PersistentVolumeSpec{
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: t.TempDir()}},
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: key.Name + "-data"},
		}},
		&clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: key.Name}, Spec: clrv1.CLRProviderSpec{
			IssuerRefs: []clrv1.LocalObjectReference{{Name: "later-college"}},
			Hostname:   "records.later-college.test",
			Storage:    clrv1.ProviderStorage{SQLite: &clrv1.SQLiteStorage{}},
			OAuth: clrv1.ProviderOAuth{OIDC: &clrv1.OIDCProvider{IssuerURL: issuerURL, ClientID: "later-clr",
				ClientSecretRef: clrv1.OIDCClientSecretReference{Name: "later-clr-oidc"}, Scopes: []string{"openid", "profile", "email"}}},
		}},
	}
	for _, o := range objs {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}

	// The kubelet starts its clr-server once the operator made it Ready,
	// and records it in local-up's state.
	var tn tenantState
	eventually(t, 3*time.Minute, "the kubelet to run "+key.String(), func() (bool, string) {
		st, err := readState()
		if err != nil {
			return false, err.Error()
		}
		i := slices.IndexFunc(st.Tenants, func(x tenantState) bool { return x.Key == key })
		if i < 0 {
			p := &clrv1.CLRProvider{}
			_ = k8s.Get(ctx, key, p)
			return false, fmt.Sprintf("no tenant recorded; Ready %+v", clrv1.FindCondition(p, clrv1.ConditionReady))
		}
		tn = st.Tenants[i]
		r, err := call(&http.Client{Timeout: 5 * time.Second}, http.MethodGet, tn.LocalURL+"/ims/clr/v2p0/discovery", "", nil)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusOK, r.String()
	})
	if err := pub.AddRoute(tn.PublicURL, tn.Port); err != nil {
		t.Fatal(err)
	}

	// An application registers with the new institution and the sample
	// learner signs in on the login form of its realm.
	cfg := registerClient(t, tn)
	tok := signInLearner(t, cfg, tn, issuerURL, "maya.lindqvist")
	r := mustCall(t, pub.client(), http.StatusOK, http.MethodGet, tn.PublicURL+"/ims/clr/v2p0/credentials", tok.AccessToken, nil)
	if r.Header.Get("X-Total-Count") != "0" {
		t.Errorf("a new learner has %q credentials, want 0: %s", r.Header.Get("X-Total-Count"), r)
	}
	// status and up's summary list its sign-in.
	st, err := readState()
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(st.OIDC.Realms, func(r oidcRealm) bool { return r.Provider == key }); i < 0 || st.OIDC.Realms[i].Issuer != issuerURL {
		t.Errorf("local-up's state records the sign-in of %s as %+v, want at %s", key, st.OIDC.Realms, issuerURL)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, localupBin, "status")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, &out, &out
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "sign-in:      "+issuerURL) {
		t.Errorf("localup status (%v) does not list the sign-in at %s:\n%s", err, issuerURL, out.String())
	}
	// The samples' realm still serves after the provider reloaded.
	mustCall(t, pub.client(), http.StatusOK, http.MethodGet, oidc.Issuer+"/.well-known/openid-configuration", "", nil)

	// Deleting the CLRProvider drops its client, and its realm with it;
	// the samples' realm stays.
	if err := k8s.Delete(ctx, objs[len(objs)-1]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the realm of the deleted CLRProvider to go", func() (bool, string) {
		r, err := call(pub.client(), http.MethodGet, issuerURL+"/.well-known/openid-configuration", "", nil)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusNotFound, r.String()
	})
	mustCall(t, pub.client(), http.StatusOK, http.MethodGet, oidc.Issuer+"/.well-known/openid-configuration", "", nil)
}

// readState reads local-up's state as it is now (the kubelet rewrites it).
func readState() (localState, error) {
	var st localState
	raw, err := os.ReadFile(filepath.Join(root, "tmp", "local", "state.json"))
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err == nil && st.OIDC == nil {
		err = fmt.Errorf("local-up recorded no OpenID Connect provider")
	}
	return st, err
}
