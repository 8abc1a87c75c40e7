package crd

import (
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// validCases are edge cases next to the rules of invalidCases that must be
// accepted, so that a rule that is too strict fails a test too.
var validCases = []struct {
	name  string
	kind  string
	patch string
}{
	{"RSA key issuing VC-JWT only", "Issuer", `{spec: {signing: {algorithm: RSA-2048, proofFormats: [VC-JWT]}}}`},
	{"ECDSA P-384 with its cryptosuite", "Issuer", `{spec: {signing: {algorithm: ECDSA-P384, cryptosuite: ecdsa-rdfc-2019}}}`},
	{"Ed25519 with Data Integrity only", "Issuer", `{spec: {signing: {algorithm: Ed25519, cryptosuite: eddsa-rdfc-2022, proofFormats: [DataIntegrity]}}}`},
	{"shortest key life cert-manager accepts", "Issuer", `{spec: {signing: {duration: 1h, renewBefore: 5m, retiredKeyRetention: "0s"}}}`},
	{"fractional duration", "Issuer", `{spec: {signing: {duration: 2160.5h, renewBefore: 1h30m}}}`},
	{"ClusterIssuer of an external issuer group", "Issuer", `{spec: {signing: {issuerRef: {name: vault, kind: ClusterIssuer, group: cert-manager.k8s.cloudflare.com}}}}`},
	{"extension identifier type", "Issuer", `{spec: {profile: {otherIdentifiers: [{identifier: "236711", identifierType: "ext:IPEDSUnitID"}, {identifier: "x", identifierType: sourcedId}]}}}`},
	{"issuer name of 63 characters", "Issuer", `{metadata: {name: a23456789012345678901234567890123456789012345678901234567890123}}`},

	{"extension achievement types", "Framework", `{spec: {competencies: [{id: research, name: Research, type: "ext:UndergraduateResearch"}, {id: service, name: Service, type: CommunityService, parent: research}]}}`},
	{"deep competency tree", "Framework", `{spec: {competencies: [{id: a, name: A}, {id: b, name: B, parent: a}, {id: c, name: C, parent: b}, {id: d, name: D, parent: c}]}}`},
	{"sharing with every namespace", "Framework", `{spec: {sharing: {namespaceSelector: {}}}}`},
	{"sharing by expressions", "Framework", `{spec: {sharing: {namespaceSelector: {matchExpressions: [{key: consortium, operator: In, values: [cascadia]}, {key: suspended, operator: DoesNotExist}]}}}}`},
	{"no levels", "Framework", `{spec: {levels: null}}`},

	{"sqlite stopped", "CLRProvider", `{spec: {replicas: 0}}`},
	{"postgres with many replicas", "CLRProvider", `{spec: {replicas: 12, storage: {sqlite: null, postgres: {secretRef: {name: lakeshore-db, key: url}}}}}`},
	{"multi-segment path prefix", "CLRProvider", `{spec: {pathPrefix: /registrar/clr-v2}}`},
	{"single-label host", "CLRProvider", `{spec: {hostname: localhost}}`},
	{"TLS from cert-manager", "CLRProvider", `{spec: {ingress: {className: nginx, tls: {issuerRef: {name: letsencrypt, kind: ClusterIssuer}}}}}`},
	{"TLS from a Secret, no class", "CLRProvider", `{spec: {ingress: {tls: {secretName: lakeshore-tls}}}}`},
	{"Ingress without TLS", "CLRProvider", `{spec: {ingress: {annotations: {"nginx.ingress.kubernetes.io/ssl-redirect": "false"}}}}`},
	{"all credential status entries", "CLRProvider", `{spec: {credentialStatus: {entries: All}}}`},
	{"token cache off", "CLRProvider", `{spec: {oauth: {tokenCacheTTL: 0s}}}`},
	{"OAuth fully set", "CLRProvider", `{spec: {oauth: {dynamicRegistration: false, accessTokenTTL: 5m, refreshTokenTTL: 8760h, oidc: {issuerURL: "https://login.lakeshore.edu/realms/learners", clientID: clr, clientSecretRef: {name: oidc, key: secret}, scopes: [openid, email], usernameClaim: email}, issuingClients: [{clientID: registrar-sis, scopes: ["https://learnerrecords.io/scope/issue", "https://learnerrecords.io/scope/revoke"]}, {clientID: lms, scopes: ["https://learnerrecords.io/scope/records.read"]}]}}}`},
	{"frameworks from two namespaces", "CLRProvider", `{spec: {frameworkRefs: [{name: outcomes, namespace: clr-frameworks}, {name: experiential}]}}`},
	{"paused", "CLRProvider", `{spec: {paused: true}}`},
	{"provider name of 48 characters", "CLRProvider", `{metadata: {name: a23456789012345678901234567890123456789012345678}}`},
}

func TestValidEdgeCasesAreAccepted(t *testing.T) {
	ensureNamespace(t, validationNamespace)
	for i, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			obj := fromYAML(t, bases[tc.kind])
			obj.SetName(fmt.Sprintf("valid-%d", i))
			var patch map[string]any
			if err := yaml.Unmarshal([]byte(tc.patch), &patch); err != nil {
				t.Fatalf("bad patch %s: %v", tc.patch, err)
			}
			obj.Object = mergePatch(obj.Object, patch)
			if err := k8s.Create(ctx(t), obj); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

// TestLargestFrameworkIsAccepted fills every list of a Framework to its
// maximum with the longest ids, so the CEL rules over the competency tree
// (quadratic in its size) are proven to stay within the API server's
// run-time cost budget, not only its estimate.
func TestLargestFrameworkIsAccepted(t *testing.T) {
	ensureNamespace(t, validationNamespace)
	const competencies, levels = 500, 12
	id := func(prefix string, i int) string {
		s := fmt.Sprintf("%s-%04d-", prefix, i)
		return s + strings.Repeat("x", 64-len(s))
	}
	var b strings.Builder
	b.WriteString("apiVersion: clr.learnerrecords.io/v1alpha1\nkind: Framework\n")
	b.WriteString("metadata: {name: largest, namespace: crd-validation}\n")
	b.WriteString("spec:\n  title: A Framework at every limit\n  levels:\n")
	for i := range levels {
		fmt.Fprintf(&b, "    - {id: %s, name: Level %d}\n", id("level", i), i)
	}
	b.WriteString("  competencies:\n")
	for i := range competencies {
		fmt.Fprintf(&b, "    - {id: %s, name: Competency %d", id("competency", i), i)
		if i < competencies-1 {
			// Every parent is the last one listed: the worst case for a
			// search from the front.
			fmt.Fprintf(&b, ", parent: %s", id("competency", competencies-1))
		}
		b.WriteString("}\n")
	}
	obj := fromYAML(t, b.String())
	if err := k8s.Create(ctx(t), obj); err != nil {
		t.Fatalf("a framework with %d competencies is rejected: %v", competencies, err)
	}

	// One more competency is over the limit, and says so.
	extra := fromYAML(t, b.String()+fmt.Sprintf("    - {id: one-too-many, name: One too many, parent: %s}\n", id("competency", 0)))
	extra.SetName("too-large")
	err := k8s.Create(ctx(t), extra)
	if err == nil || !strings.Contains(err.Error(), "spec.competencies") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("a framework with %d competencies: %v; want a rejection naming spec.competencies and its limit", competencies+1, err)
	}
}
