package controllers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

func key(kid string) serverconfig.PublishedKey {
	return serverconfig.PublishedKey{KID: kid, Algorithm: "Ed25519", PublicKeyJWK: map[string]any{"kty": "OKP"}}
}

func TestNextKeyringRetiresAndExpires(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	retention := 48 * time.Hour

	kr, next := nextKeyring("u", nil, key("a"), retention, t0)
	if len(kr.Keys) != 1 || kr.Keys[0].KID != "a" || !next.IsZero() {
		t.Fatalf("first key: %+v next %v", kr.Keys, next)
	}
	same, _ := nextKeyring("u", &kr, key("a"), retention, t0.Add(time.Hour))
	if len(same.Keys) != 1 || same.Keys[0].RetiredAt != nil {
		t.Fatalf("unchanged key changed the keyring: %+v", same.Keys)
	}

	kr, next = nextKeyring("u", &kr, key("b"), retention, t0.Add(time.Hour))
	if len(kr.Keys) != 2 || kr.Keys[0].KID != "b" || kr.Keys[1].KID != "a" || !kr.Keys[1].RetiredAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after rotation: %+v", kr.Keys)
	}
	if !next.Equal(t0.Add(time.Hour + retention)) {
		t.Errorf("next expiry %v, want %v", next, t0.Add(time.Hour+retention))
	}
	kr, _ = nextKeyring("u", &kr, key("c"), retention, t0.Add(2*time.Hour))
	if got := kids(kr); got != "c,b,a" {
		t.Fatalf("two rotations: %s, want c,b,a (newest retired first)", got)
	}
	// a expires 1h+48h after t0; b at 2h+48h.
	kr, next = nextKeyring("u", &kr, key("c"), retention, t0.Add(time.Hour+retention))
	if got := kids(kr); got != "c,b" || !next.Equal(t0.Add(2*time.Hour+retention)) {
		t.Fatalf("after a's retention: %s next %v", got, next)
	}
	// A key that comes back (e.g. restored Secret) is current, not retired.
	kr, _ = nextKeyring("u", &kr, key("b"), retention, t0.Add(3*time.Hour))
	if got := kids(kr); got != "b,c" || kr.Keys[0].RetiredAt != nil {
		t.Fatalf("restored key: %s %+v", got, kr.Keys[0])
	}
}

func kids(kr serverconfig.Keyring) string {
	var s []string
	for _, k := range kr.Keys {
		s = append(s, k.KID)
	}
	return strings.Join(s, ",")
}

func TestValidateFramework(t *testing.T) {
	spec := &clrv1.FrameworkSpec{
		Levels: []clrv1.FrameworkLevel{{ID: "l1", Name: "L1"}},
		Competencies: []clrv1.Competency{
			{ID: "root", Name: "Root"},
			{ID: "x", Name: "X", Parent: "y"},
			{ID: "y", Name: "Y", Parent: "x"},
			{ID: "child", Name: "Child", Parent: "root", HumanCode: "R.1"},
		},
	}
	problems := validateFramework(spec)
	if len(problems) != 1 || !strings.Contains(problems[0], "cycle") {
		t.Fatalf("problems = %q, want one cycle", problems)
	}
	spec.Competencies[2].Parent = "root"
	if p := validateFramework(spec); len(p) != 0 {
		t.Fatalf("a tree reported problems: %q", p)
	}
	var deep []clrv1.Competency
	for i := 0; i <= maxCompetencyDepth; i++ {
		c := clrv1.Competency{ID: "c" + string(rune('a'+i)), Name: "C"}
		if i > 0 {
			c.Parent = deep[i-1].ID
		}
		deep = append(deep, c)
	}
	if p := validateFramework(&clrv1.FrameworkSpec{Competencies: deep}); len(p) == 0 || !strings.Contains(p[0], "deep") {
		t.Errorf("a %d-deep tree: %q", len(deep), p)
	}
}

func TestFrameworkSharedWith(t *testing.T) {
	fw := &clrv1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "consortium", Name: "f"}}
	if ok, _, _ := frameworkSharedWith(fw, "consortium", nil); !ok {
		t.Error("own namespace denied")
	}
	if ok, why, _ := frameworkSharedWith(fw, "u1", map[string]string{"member": "yes"}); ok || !strings.Contains(why, "no spec.sharing") {
		t.Errorf("unshared framework allowed or unclear: %q", why)
	}
	fw.Spec.Sharing = &clrv1.FrameworkSharing{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"member": "yes"}}}
	if ok, _, _ := frameworkSharedWith(fw, "u1", map[string]string{"member": "yes"}); !ok {
		t.Error("selected namespace denied")
	}
	if ok, _, _ := frameworkSharedWith(fw, "u2", map[string]string{"member": "no"}); ok {
		t.Error("unselected namespace allowed")
	}
	fw.Spec.Sharing.NamespaceSelector = &metav1.LabelSelector{}
	if ok, _, _ := frameworkSharedWith(fw, "u3", nil); !ok {
		t.Error("empty selector must select every namespace")
	}
}

func TestFrameworkDigestIsContentOnly(t *testing.T) {
	fw := &clrv1.Framework{ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: "a", Annotations: map[string]string{"x": "y"}},
		Spec: clrv1.FrameworkSpec{Title: "T", Competencies: []clrv1.Competency{{ID: "c", Name: "C"}}}}
	a, _ := renderFramework(fw)
	fw2 := fw.DeepCopy()
	fw2.Namespace, fw2.Annotations = "b", nil
	fw2.Spec.Sharing = &clrv1.FrameworkSharing{NamespaceSelector: &metav1.LabelSelector{}}
	b, _ := renderFramework(fw2)
	if a.Digest != b.Digest {
		t.Errorf("namespace, annotations or sharing changed the digest")
	}
	fw2.Spec.Competencies[0].Name = "C2"
	c, _ := renderFramework(fw2)
	if c.Digest == a.Digest {
		t.Errorf("a content change kept the digest")
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		n      int32
		jitter float64
		want   time.Duration
	}{{1, 0.5, 5 * time.Second}, {2, 0.5, 10 * time.Second}, {3, 0, 16 * time.Second}, {30, 0.999, retryMax * 1199 / 1000}} {
		got := retryDelay(tc.n, tc.jitter)
		if d := got - tc.want; d < -time.Millisecond*500 || d > time.Millisecond*500 {
			t.Errorf("retryDelay(%d, %v) = %s, want %s", tc.n, tc.jitter, got, tc.want)
		}
	}
}

func TestDIDWeb(t *testing.T) {
	for _, tc := range []struct{ host, prefix, want string }{
		{"records.example.edu", "", "did:web:records.example.edu:issuers:u"},
		{"records.example.edu", "/clr/v2", "did:web:records.example.edu:clr:v2:issuers:u"},
	} {
		if got := didWeb(tc.host, tc.prefix, "u"); got != tc.want {
			t.Errorf("didWeb(%q, %q) = %q, want %q", tc.host, tc.prefix, got, tc.want)
		}
	}
}

func TestInternalSecretsGeneratedOnce(t *testing.T) {
	p := &clrv1.CLRProvider{Spec: clrv1.CLRProviderSpec{OAuth: clrv1.ProviderOAuth{IssuingClients: []clrv1.IssuingClient{{ClientID: "sis"}}}}}
	s1, changed, err := internalSecrets(p, nil)
	if err != nil || !changed || s1.SessionKey == "" || s1.ClientSecrets["sis"] == "" {
		t.Fatalf("first generation: %v %v", changed, err)
	}
	sec, _ := buildSecretsSecret(p, s1)
	s2, changed, _ := internalSecrets(p, sec)
	if changed || s2.SessionKey != s1.SessionKey || s2.TokenPepper != s1.TokenPepper || s2.ClientSecrets["sis"] != s1.ClientSecrets["sis"] {
		t.Fatalf("existing secrets regenerated")
	}
	p.Spec.OAuth.IssuingClients = nil
	s3, changed, _ := internalSecrets(p, sec)
	if !changed || s3.ClientSecrets != nil || s3.SessionKey != s1.SessionKey {
		t.Fatalf("removing a client: changed %v, %+v", changed, s3.ClientSecrets)
	}
}

func TestRestartHashIgnoresKeyrings(t *testing.T) {
	data := map[string]string{"config.json": "{}", "keyring-u.json": "k1"}
	sec := &corev1.Secret{Data: map[string][]byte{secretsFileKey: []byte("s")}}
	h1 := restartHash(data, sec)
	data["keyring-u.json"] = "k2"
	if restartHash(data, sec) != h1 {
		t.Error("a keyring change would restart clr-server")
	}
	data["config.json"] = `{"x":1}`
	if restartHash(data, sec) == h1 {
		t.Error("a config change would not restart clr-server")
	}
}

func TestIsSubset(t *testing.T) {
	live := map[string]any{"spec": map[string]any{"replicas": int64(2), "defaulted": "x",
		"containers": []any{map[string]any{"name": "a", "image": "i", "terminationMessagePath": "/dev/termination-log"}}}}
	for _, tc := range []struct {
		want map[string]any
		ok   bool
	}{
		{map[string]any{"spec": map[string]any{"replicas": int64(2)}}, true},
		{map[string]any{"spec": map[string]any{"replicas": int64(3)}}, false},
		{map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "i"}}}}, true},
		{map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "j"}}}}, false},
		{map[string]any{"spec": map[string]any{"containers": []any{}}}, false},
		{map[string]any{"spec": map[string]any{"missing": "v"}}, false},
		{map[string]any{"spec": map[string]any{"emptyDir": map[string]any{}}}, true},
	} {
		if got := isSubset(tc.want, live); got != tc.ok {
			t.Errorf("isSubset(%v) = %v, want %v", tc.want, got, tc.ok)
		}
	}
}

// TestRenderCredentialStatus: the status policy reaches clr-server's
// configuration, and a provider that never set it renders no key at all (so
// upgrading the operator does not change its config bytes or restart it).
func TestRenderCredentialStatus(t *testing.T) {
	for _, c := range []struct {
		spec *clrv1.ProviderCredentialStatus
		want serverconfig.StatusEntries
	}{
		{nil, ""},
		{&clrv1.ProviderCredentialStatus{Entries: clrv1.StatusEntriesRevocation}, serverconfig.StatusEntriesRevocation},
		{&clrv1.ProviderCredentialStatus{Entries: clrv1.StatusEntriesAll}, serverconfig.StatusEntriesAll},
	} {
		p := &clrv1.CLRProvider{Spec: clrv1.CLRProviderSpec{Hostname: "clr.example.edu", CredentialStatus: c.spec}}
		cfg := renderServerConfig(p, nil, nil)
		if cfg.CredentialStatus.Entries != c.want {
			t.Errorf("%+v: rendered entries %q, want %q", c.spec, cfg.CredentialStatus.Entries, c.want)
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(string(raw), `"credentialStatus"`); has != (c.want != "") {
			t.Errorf("%+v: credentialStatus key present=%v in %s", c.spec, has, raw)
		}
	}
}

// TestRenderTokenCacheTTL: spec.oauth.tokenCacheTTL reaches the config (0s
// included: it turns the cache off) and stays absent when unset.
func TestRenderTokenCacheTTL(t *testing.T) {
	p := &clrv1.CLRProvider{Spec: clrv1.CLRProviderSpec{Hostname: "clr.example.edu"}}
	if cfg := renderServerConfig(p, nil, nil); cfg.OAuth.TokenCacheTTL != nil {
		t.Errorf("unset tokenCacheTTL rendered as %v", cfg.OAuth.TokenCacheTTL)
	}
	for _, d := range []time.Duration{0, 10 * time.Second} {
		p.Spec.OAuth.TokenCacheTTL = &metav1.Duration{Duration: d}
		cfg := renderServerConfig(p, nil, nil)
		if cfg.OAuth.TokenCacheTTL == nil || cfg.OAuth.TokenCacheTTL.Duration != d {
			t.Errorf("tokenCacheTTL %v rendered as %v", d, cfg.OAuth.TokenCacheTTL)
		}
	}
}

func TestSigningKeyObjects(t *testing.T) {
	own := &clrv1.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "college"}, Spec: clrv1.IssuerSpec{Profile: clrv1.IssuerProfile{Name: "College"}}}
	objs, err := SigningKeyObjects(own)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("without an issuerRef: %d objects, want the self-signed Issuer and the Certificate", len(objs))
	}
	ss, ok1 := objs[0].(*cmapi.Issuer)
	cert, ok2 := objs[1].(*cmapi.Certificate)
	if !ok1 || !ok2 || ss.Spec.SelfSigned == nil || cert.Spec.IssuerRef.Name != ss.Name || cert.Namespace != "ns" {
		t.Fatalf("objects %T %T: the Certificate must be signed by the self-signed Issuer in the same namespace", objs[0], objs[1])
	}
	if cert.Spec.PrivateKey.RotationPolicy != cmapi.RotationPolicyAlways {
		t.Errorf("rotationPolicy %q, want Always", cert.Spec.PrivateKey.RotationPolicy)
	}

	ref := own.DeepCopy()
	ref.Spec.Signing.IssuerRef = &clrv1.CertManagerIssuerReference{Name: "consortium-ca", Kind: "ClusterIssuer"}
	objs, err = SigningKeyObjects(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].(*cmapi.Certificate).Spec.IssuerRef.Kind != "ClusterIssuer" {
		t.Fatalf("with an issuerRef: want only the Certificate, signed by the ClusterIssuer: %+v", objs)
	}
}

// TestCertificateReady: an issuance in progress reads the same from its
// first step to its last (so it costs no status write per step), while a
// failure or a broken Ready Certificate carries cert-manager's words.
func TestCertificateReady(t *testing.T) {
	cond := func(typ cmapi.CertificateConditionType, status cmmeta.ConditionStatus, reason, msg string, gen int64) cmapi.CertificateCondition {
		return cmapi.CertificateCondition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen}
	}
	cert := func(conds ...cmapi.CertificateCondition) *cmapi.Certificate {
		return &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Status: cmapi.CertificateStatus{Conditions: conds}}
	}
	const waiting = "waiting for cert-manager to issue Certificate k"
	for _, tc := range []struct {
		name      string
		cert      *cmapi.Certificate
		ready     bool
		wantInMsg string
	}{
		{"not seen yet", cert(), false, waiting},
		{"issuing, no Secret yet", cert(
			cond(cmapi.CertificateConditionReady, cmmeta.ConditionFalse, "DoesNotExist", "Issuing certificate as Secret does not exist", 2),
			cond(cmapi.CertificateConditionIssuing, cmmeta.ConditionTrue, "DoesNotExist", "Issuing certificate as Secret does not exist", 2)), false, waiting},
		{"Ready for an older spec", cert(cond(cmapi.CertificateConditionReady, cmmeta.ConditionTrue, "Ready", "up to date", 1)), false, waiting},
		{"failed attempt", cert(
			cond(cmapi.CertificateConditionReady, cmmeta.ConditionFalse, "DoesNotExist", "Issuing certificate as Secret does not exist", 2),
			cond(cmapi.CertificateConditionIssuing, cmmeta.ConditionFalse, "Failed", "The certificate request has failed to complete and will be retried: key too weak", 2)),
			false, "cert-manager has not issued Certificate k: Failed: The certificate request has failed to complete and will be retried: key too weak"},
		{"issued, then its Secret edited", cert(
			cond(cmapi.CertificateConditionReady, cmmeta.ConditionFalse, "InvalidKeyPair", "Issuing certificate as Secret contains invalid private key data", 2),
			cond(cmapi.CertificateConditionIssuing, cmmeta.ConditionFalse, "Issued", "The certificate has been successfully issued", 2)),
			false, "InvalidKeyPair: Issuing certificate as Secret contains invalid private key data"},
		{"Ready", cert(cond(cmapi.CertificateConditionReady, cmmeta.ConditionTrue, "Ready", "Certificate is up to date and has not expired", 2)), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready, reason, msg := certificateReady(tc.cert)
			if ready != tc.ready {
				t.Fatalf("ready = %v, want %v", ready, tc.ready)
			}
			if ready {
				return
			}
			got := certificateWaiting("k", reason, msg)
			if tc.wantInMsg == waiting && got != waiting {
				t.Errorf("message %q, want exactly %q", got, waiting)
			}
			if !strings.Contains(got, tc.wantInMsg) {
				t.Errorf("message %q does not contain %q", got, tc.wantInMsg)
			}
		})
	}
}

func TestIssuerRefProblem(t *testing.T) {
	ref := cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}
	issuer := func(conds ...cmapi.IssuerCondition) *cmapi.IssuerStatus {
		return &cmapi.IssuerStatus{Conditions: conds}
	}
	for _, tc := range []struct {
		name  string
		found *cmapi.IssuerStatus
		want  string // "" for no problem
	}{
		{"missing", nil, `cert-manager Issuer "ca" does not exist in namespace tenant`},
		{"no status yet", issuer(), `cert-manager Issuer "ca" has not reported Ready yet`},
		{"not Ready", issuer(cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionFalse, Reason: "ErrGetKeyPair", Message: `secret "ca-key" not found`}),
			`cert-manager Issuer "ca" is not Ready: ErrGetKeyPair: secret "ca-key" not found`},
		{"Ready", issuer(cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue, Reason: "KeyPairVerified"}), ""},
	} {
		if got := issuerRefProblem(ref, "tenant", tc.found); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	cluster := cmmeta.IssuerReference{Name: "letsencrypt", Kind: "ClusterIssuer", Group: "cert-manager.io"}
	if got, want := issuerRefProblem(cluster, "tenant", nil), `cert-manager ClusterIssuer "letsencrypt" does not exist`; got != want {
		t.Errorf("missing ClusterIssuer: %q, want %q", got, want)
	}
}

// countingReader counts the reads that reach the fake apiserver.
type countingReader struct {
	client.Reader
	gets int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.gets++
	return c.Reader.Get(ctx, key, obj, opts...)
}

// TestCheckIssuerRefGrace: a fresh issuance costs no read and asks to be
// looked at again when the grace ends; a long one reads the Issuer (or
// ClusterIssuer) once; an external issuer is never read.
func TestCheckIssuerRefGrace(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	issuing := func(since time.Duration) *cmapi.Certificate {
		at := metav1.NewTime(now.Add(-since))
		return &cmapi.Certificate{Status: cmapi.CertificateStatus{Conditions: []cmapi.CertificateCondition{
			{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, LastTransitionTime: &at}}}}
	}
	ref := cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}
	r := &countingReader{Reader: fake.NewClientBuilder().WithScheme(NewScheme()).Build()}

	problem, after, err := checkIssuerRef(context.Background(), r, "tenant", issuing(2*time.Second), ref, now)
	if err != nil || problem != "" || after != issuerRefGrace-2*time.Second || r.gets != 0 {
		t.Errorf("2 s into an issuance: %q, after %s, err %v, %d reads; want nothing yet, after %s, no read", problem, after, err, r.gets, issuerRefGrace-2*time.Second)
	}
	problem, after, err = checkIssuerRef(context.Background(), r, "tenant", &cmapi.Certificate{}, ref, now)
	if err != nil || problem != "" || after != 0 || r.gets != 0 {
		t.Errorf("not issuing: %q, after %s, err %v, %d reads; want nothing", problem, after, err, r.gets)
	}
	problem, after, err = checkIssuerRef(context.Background(), r, "tenant", issuing(time.Minute), ref, now)
	if err != nil || !strings.Contains(problem, `"ca" does not exist in namespace tenant`) || after != 0 || r.gets != 1 {
		t.Errorf("a minute into an issuance: %q, after %s, err %v, %d reads; want the missing issuer, one read", problem, after, err, r.gets)
	}
	cluster := cmmeta.IssuerReference{Name: "letsencrypt", Kind: "ClusterIssuer", Group: "cert-manager.io"}
	if problem, _, err := checkIssuerRef(context.Background(), r, "tenant", issuing(time.Minute), cluster, now); err != nil || problem != `cert-manager ClusterIssuer "letsencrypt" does not exist` || r.gets != 2 {
		t.Errorf("ClusterIssuer: %q, err %v, %d reads; want the missing ClusterIssuer, one more read", problem, err, r.gets)
	}
	external := cmmeta.IssuerReference{Name: "pca", Kind: "AWSPCAClusterIssuer", Group: "awspca.cert-manager.io"}
	if problem, _, err := checkIssuerRef(context.Background(), r, "tenant", issuing(time.Minute), external, now); err != nil || problem != "" || r.gets != 2 {
		t.Errorf("external issuer: %q, err %v, %d reads; want no read", problem, err, r.gets)
	}
}

// TestWaitingForCertificate: the issuer is looked at only for a ref that is
// set and while cert-manager says nothing itself; its finding comes with
// the field that holds the ref.
func TestWaitingForCertificate(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	since := metav1.NewTime(now.Add(-time.Minute))
	stuck := &cmapi.Certificate{Status: cmapi.CertificateStatus{Conditions: []cmapi.CertificateCondition{
		{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, LastTransitionTime: &since}}}}
	failed := &cmapi.Certificate{Status: cmapi.CertificateStatus{Conditions: []cmapi.CertificateCondition{
		{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionFalse, Reason: "DoesNotExist"},
		{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "Failed", Message: "denied", LastTransitionTime: &since}}}}
	ref := &cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}
	r := &countingReader{Reader: fake.NewClientBuilder().WithScheme(NewScheme()).Build()}
	ctx := context.Background()

	if msg, _, err := waitingForCertificate(ctx, r, "tenant", "k", stuck, nil, "spec.x", now); err != nil || msg != "waiting for cert-manager to issue Certificate k" || r.gets != 0 {
		t.Errorf("no ref: %q, %v, %d reads; want the plain waiting line and no read", msg, err, r.gets)
	}
	if msg, _, err := waitingForCertificate(ctx, r, "tenant", "k", failed, ref, "spec.x", now); err != nil || !strings.Contains(msg, "Failed: denied") || r.gets != 0 {
		t.Errorf("cert-manager reported a failure: %q, %v, %d reads; want its words and no read", msg, err, r.gets)
	}
	msg, after, err := waitingForCertificate(ctx, r, "tenant", "k", stuck, ref, "spec.x", now)
	if want := `waiting for cert-manager to issue Certificate k: cert-manager Issuer "ca" does not exist in namespace tenant (spec.x)`; err != nil || msg != want || after != 0 || r.gets != 1 {
		t.Errorf("stuck on a missing issuer: %q, after %s, %v, %d reads; want %q after one read", msg, after, err, r.gets, want)
	}
}
