package crd

import (
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"
)

const validationNamespace = "crd-validation"

// Valid base objects; each invalid case is one of them with a merge patch.
var bases = map[string]string{
	"Issuer": `
apiVersion: clr.learnerrecords.io/v1alpha1
kind: Issuer
metadata: {name: base-issuer, namespace: crd-validation}
spec:
  profile:
    name: Lakeshore Technical College
    url: https://www.lakeshore.edu
    email: registrar@lakeshore.edu
  authority:
    - name: Higher Learning Commission
      url: https://www.hlcommission.org
  signing:
    algorithm: ECDSA-P256
    issuerRef: {name: credential-ca}
`,
	"Framework": `
apiVersion: clr.learnerrecords.io/v1alpha1
kind: Framework
metadata: {name: base-framework, namespace: crd-validation}
spec:
  title: Career Readiness
  levels:
    - {id: emerging, name: Emerging}
    - {id: proficient, name: Proficient}
  competencies:
    - {id: communication, name: Communication}
    - id: teamwork
      name: Teamwork
      parent: communication
      alignments:
        - {targetName: Teamwork, targetUrl: "https://case.example.org/uri/5a1f", targetType: CFItem}
`,
	"CLRProvider": `
apiVersion: clr.learnerrecords.io/v1alpha1
kind: CLRProvider
metadata: {name: base-provider, namespace: crd-validation}
spec:
  issuerRefs: [{name: lakeshore}]
  hostname: records.lakeshore.edu
  storage:
    sqlite: {size: 2Gi}
`,
}

// invalidCase is a base object made invalid by a merge patch. wantField is
// the path of the offending field as the API server reports it; wantMessage
// an optional part of the message.
type invalidCase struct {
	name        string
	kind        string
	patch       string
	wantField   string
	wantMessage string
}

var invalidCases = []invalidCase{
	// Issuer.
	{"issuer without a name", "Issuer", `{spec: {profile: {name: null}}}`, "spec.profile.name", "Required value"},
	{"issuer url not http(s)", "Issuer", `{spec: {profile: {url: "ftp://lakeshore.edu"}}}`, "spec.profile.url", ""},
	{"issuer email without @", "Issuer", `{spec: {profile: {email: "registrar at lakeshore.edu"}}}`, "spec.profile.email", ""},
	{"issuer image url missing", "Issuer", `{spec: {profile: {image: {caption: Seal}}}}`, "spec.profile.image.url", "Required value"},
	{"issuer country code not ISO alpha-2", "Issuer", `{spec: {profile: {address: {addressCountryCode: USA}}}}`, "spec.profile.address.addressCountryCode", ""},
	{"issuer identifier type unknown", "Issuer", `{spec: {profile: {otherIdentifiers: [{identifier: "1234", identifierType: IPEDS}]}}}`, "spec.profile.otherIdentifiers[0].identifierType", ""},
	{"issuer parent org without id or url", "Issuer", `{spec: {profile: {parentOrg: {name: "State System"}}}}`, "spec.profile.parentOrg", "set id or url"},
	{"issuer parent org without name", "Issuer", `{spec: {profile: {parentOrg: {url: "https://system.edu"}}}}`, "spec.profile.parentOrg.name", "Required value"},
	{"authority without name", "Issuer", `{spec: {authority: [{url: "https://www.hlcommission.org"}]}}`, "spec.authority[0].name", "Required value"},
	{"authority url not a URL", "Issuer", `{spec: {authority: [{name: HLC, url: "hlcommission.org"}]}}`, "spec.authority[0].url", ""},
	{"unsupported key algorithm", "Issuer", `{spec: {signing: {algorithm: Ed448}}}`, "spec.signing.algorithm", "Unsupported value"},
	{"unknown proof format", "Issuer", `{spec: {signing: {proofFormats: [JSON-LD]}}}`, "spec.signing.proofFormats[0]", "Unsupported value"},
	{"no proof format", "Issuer", `{spec: {signing: {proofFormats: []}}}`, "spec.signing.proofFormats", "at least 1"},
	{"duplicate proof format", "Issuer", `{spec: {signing: {proofFormats: [VC-JWT, VC-JWT]}}}`, "spec.signing.proofFormats[1]", "Duplicate value"},
	{"cryptosuite does not match the key", "Issuer", `{spec: {signing: {algorithm: ECDSA-P256, cryptosuite: eddsa-rdfc-2022}}}`, "spec.signing.cryptosuite", "eddsa-rdfc-2022 needs algorithm Ed25519"},
	{"unknown cryptosuite", "Issuer", `{spec: {signing: {cryptosuite: bbs-2023}}}`, "spec.signing.cryptosuite", "Unsupported value"},
	{"RSA key with Data Integrity", "Issuer", `{spec: {signing: {algorithm: RSA-3072}}}`, "spec.signing.proofFormats", "RSA keys have no Data Integrity cryptosuite"},
	{"renewBefore not shorter than duration", "Issuer", `{spec: {signing: {duration: 24h, renewBefore: 48h}}}`, "spec.signing.renewBefore", "must be shorter than spec.signing.duration"},
	{"duration under cert-manager's minimum", "Issuer", `{spec: {signing: {duration: 30m, renewBefore: 10m}}}`, "spec.signing.duration", "at least 1h"},
	{"duration not a duration", "Issuer", `{spec: {signing: {duration: "90 days"}}}`, "spec.signing.duration", "should match"},
	{"renewBefore too short", "Issuer", `{spec: {signing: {renewBefore: 1m}}}`, "spec.signing.renewBefore", "at least 5m"},
	{"retiredKeyRetention not a duration", "Issuer", `{spec: {signing: {retiredKeyRetention: forever}}}`, "spec.signing.retiredKeyRetention", ""},
	{"cert-manager issuer kind unknown", "Issuer", `{spec: {signing: {issuerRef: {kind: Certificate}}}}`, "spec.signing.issuerRef.kind", "Unsupported value"},
	{"cert-manager issuer without name", "Issuer", `{spec: {signing: {issuerRef: {name: null, kind: ClusterIssuer}}}}`, "spec.signing.issuerRef.name", "Required value"},
	{"issuer name with a dot", "Issuer", `{metadata: {name: lakeshore.college}}`, "metadata.name", "must be a DNS label"},

	// Framework.
	{"framework without title", "Framework", `{spec: {title: null}}`, "spec.title", "Required value"},
	{"framework url not a URL", "Framework", `{spec: {url: "www.naceweb.org"}}`, "spec.url", ""},
	{"framework without competencies", "Framework", `{spec: {competencies: []}}`, "spec.competencies", "at least 1"},
	{"duplicate competency id", "Framework", `{spec: {competencies: [{id: teamwork, name: Teamwork}, {id: teamwork, name: Team Work}]}}`, "spec.competencies[1]", "Duplicate value"},
	{"duplicate level id", "Framework", `{spec: {levels: [{id: emerging, name: Emerging}, {id: emerging, name: Developing}]}}`, "spec.levels[1]", "Duplicate value"},
	{"parent that does not exist", "Framework", `{spec: {competencies: [{id: communication, name: Communication}, {id: teamwork, name: Teamwork, parent: collaboration}]}}`, "spec.competencies", "parent must be the id of a competency listed in spec.competencies"},
	{"competency its own parent", "Framework", `{spec: {competencies: [{id: communication, name: Communication, parent: communication}]}}`, "spec.competencies", "cannot be its own parent"},
	{"competency without name", "Framework", `{spec: {competencies: [{id: communication}]}}`, "spec.competencies[0].name", "Required value"},
	{"competency id with spaces", "Framework", `{spec: {competencies: [{id: "critical thinking", name: Critical Thinking}]}}`, "spec.competencies[0].id", ""},
	{"achievement type outside the vocabulary", "Framework", `{spec: {competencies: [{id: internship, name: Internship, type: Internship}]}}`, "spec.competencies[0].type", ""},
	{"level id with spaces", "Framework", `{spec: {levels: [{id: "level 1", name: Level 1}]}}`, "spec.levels[0].id", ""},
	{"level without name", "Framework", `{spec: {levels: [{id: emerging}]}}`, "spec.levels[0].name", "Required value"},
	{"alignment url not a URL", "Framework", `{spec: {competencies: [{id: c, name: C, alignments: [{targetName: T, targetUrl: "CFItem:5a1f"}]}]}}`, "spec.competencies[0].alignments[0].targetUrl", ""},
	{"alignment without target name", "Framework", `{spec: {competencies: [{id: c, name: C, alignments: [{targetUrl: "https://case.example.org/uri/5a1f"}]}]}}`, "spec.competencies[0].alignments[0].targetName", "Required value"},
	{"alignment target type unknown", "Framework", `{spec: {competencies: [{id: c, name: C, alignments: [{targetName: T, targetUrl: "https://case.example.org/uri/5a1f", targetType: CASE}]}]}}`, "spec.competencies[0].alignments[0].targetType", ""},
	{"sharing selector with an unknown operator", "Framework", `{spec: {sharing: {namespaceSelector: {matchExpressions: [{key: consortium, operator: Equals, values: [cascadia]}]}}}}`, "spec.sharing.namespaceSelector.matchExpressions", "the operator must be In or NotIn"},
	{"sharing selector In without values", "Framework", `{spec: {sharing: {namespaceSelector: {matchExpressions: [{key: consortium, operator: In}]}}}}`, "spec.sharing.namespaceSelector.matchExpressions", "the operator must be In or NotIn"},
	{"sharing without selector", "Framework", `{spec: {sharing: {}}}`, "spec.sharing.namespaceSelector", "Required value"},

	// CLRProvider.
	{"provider without issuers", "CLRProvider", `{spec: {issuerRefs: []}}`, "spec.issuerRefs", "at least 1"},
	{"duplicate issuer reference", "CLRProvider", `{spec: {issuerRefs: [{name: lakeshore}, {name: lakeshore}]}}`, "spec.issuerRefs[1]", "Duplicate value"},
	{"duplicate framework name", "CLRProvider", `{spec: {frameworkRefs: [{name: outcomes}, {name: outcomes, namespace: shared}]}}`, "spec.frameworkRefs[1]", "Duplicate value"},
	{"framework namespace not a DNS label", "CLRProvider", `{spec: {frameworkRefs: [{name: outcomes, namespace: Shared_Frameworks}]}}`, "spec.frameworkRefs[0].namespace", ""},
	{"hostname with capitals", "CLRProvider", `{spec: {hostname: Records.Lakeshore.EDU}}`, "spec.hostname", ""},
	{"hostname with underscore", "CLRProvider", `{spec: {hostname: records_lakeshore.edu}}`, "spec.hostname", ""},
	{"hostname with scheme", "CLRProvider", `{spec: {hostname: "https://records.lakeshore.edu"}}`, "spec.hostname", ""},
	{"path prefix with trailing slash", "CLRProvider", `{spec: {pathPrefix: /records/}}`, "spec.pathPrefix", ""},
	{"path prefix without leading slash", "CLRProvider", `{spec: {pathPrefix: records}}`, "spec.pathPrefix", ""},
	{"no storage", "CLRProvider", `{spec: {storage: null}}`, "spec.storage", "Required value"},
	{"empty storage", "CLRProvider", `{spec: {storage: {sqlite: null}}}`, "spec.storage", "exactly one of sqlite or postgres"},
	{"both storages", "CLRProvider", `{spec: {storage: {postgres: {secretRef: {name: lakeshore-db}}}}}`, "spec.storage", "exactly one of sqlite or postgres"},
	{"sqlite with two replicas", "CLRProvider", `{spec: {replicas: 2}}`, "spec.replicas", "SQLite file cannot be shared"},
	{"negative replicas", "CLRProvider", `{spec: {replicas: -1}}`, "spec.replicas", ""},
	{"sqlite volume too small", "CLRProvider", `{spec: {storage: {sqlite: {size: 1Mi}}}}`, "spec.storage.sqlite.size", "at least 64Mi"},
	{"sqlite volume size not a quantity", "CLRProvider", `{spec: {storage: {sqlite: {size: lots}}}}`, "spec.storage.sqlite.size", "should match"},
	{"postgres secret without name", "CLRProvider", `{spec: {storage: {sqlite: null, postgres: {secretRef: {key: dsn}}}}}`, "spec.storage.postgres.secretRef.name", "Required value"},
	{"TLS with both a Secret and an issuer", "CLRProvider", `{spec: {ingress: {tls: {secretName: lakeshore-tls, issuerRef: {name: letsencrypt, kind: ClusterIssuer}}}}}`, "spec.ingress.tls", "exactly one of secretName"},
	{"TLS with neither", "CLRProvider", `{spec: {ingress: {tls: {}}}}`, "spec.ingress.tls", "exactly one of secretName"},
	{"TLS issuer kind unknown", "CLRProvider", `{spec: {ingress: {tls: {issuerRef: {name: letsencrypt, kind: Acme}}}}}`, "spec.ingress.tls.issuerRef.kind", "Unsupported value"},
	{"OIDC issuer over plain http", "CLRProvider", `{spec: {oauth: {oidc: {issuerURL: "http://login.lakeshore.edu", clientID: clr, clientSecretRef: {name: oidc}}}}}`, "spec.oauth.oidc.issuerURL", ""},
	{"OIDC without client secret", "CLRProvider", `{spec: {oauth: {oidc: {issuerURL: "https://login.lakeshore.edu", clientID: clr}}}}`, "spec.oauth.oidc.clientSecretRef", "Required value"},
	{"OIDC scopes without openid", "CLRProvider", `{spec: {oauth: {oidc: {issuerURL: "https://login.lakeshore.edu", clientID: clr, clientSecretRef: {name: oidc}, scopes: [profile, email]}}}}`, "spec.oauth.oidc.scopes", "must include openid"},
	{"access token lifetime too long", "CLRProvider", `{spec: {oauth: {accessTokenTTL: 48h, refreshTokenTTL: 720h}}}`, "spec.oauth.accessTokenTTL", "between 1m and 24h"},
	{"token cache too long", "CLRProvider", `{spec: {oauth: {tokenCacheTTL: 2m}}}`, "spec.oauth.tokenCacheTTL", "at most 1m"},
	{"token cache not a duration", "CLRProvider", `{spec: {oauth: {tokenCacheTTL: soon}}}`, "spec.oauth.tokenCacheTTL", "should match"},
	{"access token outlives refresh token", "CLRProvider", `{spec: {oauth: {accessTokenTTL: 2h, refreshTokenTTL: 1h}}}`, "spec.oauth.accessTokenTTL", "shorter than spec.oauth.refreshTokenTTL"},
	{"credential status entries unknown", "CLRProvider", `{spec: {credentialStatus: {entries: Both}}}`, "spec.credentialStatus.entries", "Unsupported value"},
	{"issuing client scope not an issuing scope", "CLRProvider", `{spec: {oauth: {issuingClients: [{clientID: sis, scopes: [write]}]}}}`, "spec.oauth.issuingClients[0].scopes[0]", "Unsupported value"},
	{"issuing client given a learner's CLR scope", "CLRProvider", `{spec: {oauth: {issuingClients: [{clientID: sis, scopes: ["https://purl.imsglobal.org/spec/clr/v2p0/scope/credential.upsert"]}]}}}`, "spec.oauth.issuingClients[0].scopes[0]", "Unsupported value"},
	{"provider name too long", "CLRProvider", `{metadata: {name: lakeshore-technical-college-comprehensive-records-x}}`, "metadata.name", "at most 48 characters"},
}

func TestInvalidObjectsAreRejected(t *testing.T) {
	ensureNamespace(t, validationNamespace)

	// The bases must be valid, or the cases would prove nothing.
	for kind, doc := range bases {
		u := fromYAML(t, doc)
		u.SetName("valid-" + strings.ToLower(kind))
		if err := k8s.Create(ctx(t), u); err != nil {
			t.Fatalf("the base %s is rejected: %v", kind, err)
		}
	}

	if len(invalidCases) < 30 {
		t.Fatalf("only %d invalid cases; the table must hold at least 30", len(invalidCases))
	}
	for i, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			base := fromYAML(t, bases[tc.kind])
			base.SetName(fmt.Sprintf("invalid-%d", i))
			var patch map[string]any
			if err := yaml.Unmarshal([]byte(tc.patch), &patch); err != nil {
				t.Fatalf("bad patch %s: %v", tc.patch, err)
			}
			base.Object = mergePatch(base.Object, patch)

			err := k8s.Create(ctx(t), base)
			if err == nil {
				t.Fatalf("accepted; want a rejection naming %s", tc.wantField)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("rejected with %v; want 422 Invalid naming %s", err, tc.wantField)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tc.wantField) {
				t.Errorf("error does not name the field %s:\n%s", tc.wantField, msg)
			}
			if tc.wantMessage != "" && !strings.Contains(msg, tc.wantMessage) {
				t.Errorf("error does not say %q:\n%s", tc.wantMessage, msg)
			}
			// A CEL rule that fails at run time (rather than returning
			// false) shows the user an evaluation error instead of its
			// message: every rule must guard its inputs.
			if strings.Contains(msg, "evaluating rule") || strings.Contains(msg, "conversion error") {
				t.Errorf("a CEL rule failed at run time:\n%s", msg)
			}
			if !hasCauseAt(err, tc.wantField) {
				t.Errorf("no status cause at field %s:\n%s", tc.wantField, msg)
			}
		})
	}
}

// hasCauseAt reports whether the Invalid error has a cause whose field is
// the wanted path (a root-level rule reports its message without a field,
// then the message must start with the path).
func hasCauseAt(err error, field string) bool {
	status, ok := err.(apierrors.APIStatus)
	if !ok || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if c.Field == field || strings.HasPrefix(c.Message, field) || strings.Contains(c.Message, ": "+field) {
			return true
		}
	}
	return false
}
