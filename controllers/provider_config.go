package controllers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// Paths inside the clr-server container. Everything the operator renders is
// mounted read-only; only DataDir and /tmp are writable.
const (
	configDir      = "/etc/clr/config"
	keysDir        = "/etc/clr/keys"
	secretsDir     = "/etc/clr/secrets"
	postgresDir    = "/etc/clr/postgres"
	oidcDir        = "/etc/clr/oidc"
	dataDir        = "/var/lib/clr"
	configFileKey  = "config.json"
	secretsFileKey = "secrets.json"
	postgresDSNKey = "dsn"
	oidcSecretKey  = "client-secret"

	httpPort    = 8080
	metricsPort = 9090

	// discoveryPath is the CLR 2.0 service description document.
	discoveryPath = "/ims/clr/v2p0/discovery"
)

// Names of a provider's children. Provider names are DNS labels of at most
// 48 characters (CRD rule), leaving room for the suffixes.
func providerConfigMapName(p string) string { return p + "-config" }
func providerSecretsName(p string) string   { return p + "-secrets" }
func providerDataPVCName(p string) string   { return p + "-data" }
func providerTLSSecretName(p string) string { return p + "-tls" }

func frameworkFileKey(name string) string { return "framework-" + name + ".json" }
func keyringFileKey(issuer string) string { return "keyring-" + issuer + ".json" }

// resolvedFramework is a referenced Framework that may be used, rendered.
type resolvedFramework struct {
	ref      clrv1.FrameworkReference
	object   *clrv1.Framework
	rendered serverconfig.Framework
}

// resolvedIssuer is a referenced, Ready Issuer and its published keyring.
type resolvedIssuer struct {
	object  *clrv1.Issuer
	keyring string // the keyring JSON as the Issuer controller published it
}

// issuerProfile is the Open Badges 3.0 Profile of an Issuer as JSON members
// (clr-server adds id = the DID).
func issuerProfile(spec *clrv1.IssuerProfile) map[string]any {
	p := map[string]any{"type": []any{"Profile"}, "name": spec.Name}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("url", spec.URL)
	set("email", spec.Email)
	set("phone", spec.Phone)
	set("description", spec.Description)
	set("official", spec.Official)
	if img := spec.Image; img != nil {
		m := map[string]any{"id": img.URL, "type": "Image"}
		if img.Caption != "" {
			m["caption"] = img.Caption
		}
		p["image"] = m
	}
	if a := spec.Address; a != nil {
		m := map[string]any{"type": []any{"Address"}}
		for k, v := range map[string]string{
			"streetAddress": a.StreetAddress, "postOfficeBoxNumber": a.PostOfficeBoxNumber,
			"addressLocality": a.AddressLocality, "addressRegion": a.AddressRegion,
			"postalCode": a.PostalCode, "addressCountry": a.AddressCountry, "addressCountryCode": a.AddressCountryCode,
		} {
			if v != "" {
				m[k] = v
			}
		}
		p["address"] = m
	}
	if len(spec.OtherIdentifiers) > 0 {
		ids := make([]any, 0, len(spec.OtherIdentifiers))
		for _, id := range spec.OtherIdentifiers {
			ids = append(ids, map[string]any{"type": "IdentifierEntry", "identifier": id.Identifier, "identifierType": id.IdentifierType})
		}
		p["otherIdentifier"] = ids
	}
	if po := spec.ParentOrg; po != nil {
		m := map[string]any{"type": []any{"Profile"}, "name": po.Name}
		// An Open Badges 3.0 Profile requires an id (a URI): without one
		// every credential fails the schema. The organisation's home page
		// identifies it when it has no profile of its own.
		if po.ID != "" {
			m["id"] = po.ID
		} else if po.URL != "" {
			m["id"] = po.URL
		}
		if po.URL != "" {
			m["url"] = po.URL
		}
		if po.Email != "" {
			m["email"] = po.Email
		}
		p["parentOrg"] = m
	}
	return p
}

// issuerAuthority is the Issuer's accreditations and legal authority for
// clr-server, which publishes them in the issuer Profile and on the
// verification page.
func issuerAuthority(spec []clrv1.Authority) []serverconfig.Authority {
	if len(spec) == 0 {
		return nil
	}
	out := make([]serverconfig.Authority, 0, len(spec))
	for _, a := range spec {
		out = append(out, serverconfig.Authority{Name: a.Name, URL: a.URL, Identifier: a.Identifier, Description: a.Description})
	}
	return out
}

func durationValue(d *metav1.Duration, def time.Duration) serverconfig.Duration {
	return serverconfig.Duration{Duration: durationOr(d, def)}
}

// renderServerConfig is the clr-server configuration of a provider. Pure:
// the same provider, issuers and frameworks give the same bytes.
func renderServerConfig(p *clrv1.CLRProvider, issuers []resolvedIssuer, frameworks []resolvedFramework) serverconfig.Config {
	cfg := serverconfig.Config{
		APIVersion: serverconfig.APIVersion,
		Server: serverconfig.Server{
			Listen:        fmt.Sprintf(":%d", httpPort),
			MetricsListen: fmt.Sprintf(":%d", metricsPort),
			PublicURL:     publicURL(p.Spec.Hostname, p.Spec.PathPrefix),
			DataDir:       dataDir,
		},
		SecretsFile: secretsDir + "/" + secretsFileKey,
	}
	if p.Spec.Storage.Postgres != nil {
		cfg.Storage = serverconfig.Storage{Driver: serverconfig.StoragePostgres, PostgresDSNFile: postgresDir + "/" + postgresDSNKey}
	} else {
		cfg.Storage = serverconfig.Storage{Driver: serverconfig.StorageSQLite, SQLitePath: dataDir + "/clr.db"}
	}
	for _, is := range issuers {
		i := is.object
		s := i.Spec.Signing
		formats := make([]string, 0, len(s.ProofFormats))
		for _, f := range s.ProofFormats {
			formats = append(formats, string(f))
		}
		if len(formats) == 0 {
			formats = []string{string(clrv1.ProofFormatDataIntegrity), string(clrv1.ProofFormatVCJWT)}
		}
		signing := s
		signing.Algorithm = effectiveAlgorithm(s)
		cfg.Issuers = append(cfg.Issuers, serverconfig.Issuer{
			Name:    i.Name,
			DID:     didWeb(p.Spec.Hostname, p.Spec.PathPrefix, i.Name),
			Profile: issuerProfile(&i.Spec.Profile),
			Signing: serverconfig.Signing{
				Algorithm:    string(signing.Algorithm),
				KeyDir:       keysDir + "/" + i.Name,
				KeyringFile:  configDir + "/" + keyringFileKey(i.Name),
				ProofFormats: formats,
				Cryptosuite:  string(signing.EffectiveCryptosuite()),
			},
			Authority: issuerAuthority(i.Spec.Authority),
		})
	}
	for _, f := range frameworks {
		cfg.Frameworks = append(cfg.Frameworks, serverconfig.FrameworkRef{Name: f.ref.Name, File: configDir + "/" + frameworkFileKey(f.ref.Name)})
	}
	o := p.Spec.OAuth
	cfg.OAuth = serverconfig.OAuth{
		DynamicRegistration: o.DynamicRegistration == nil || *o.DynamicRegistration,
		AccessTokenTTL:      durationValue(o.AccessTokenTTL, time.Hour),
		RefreshTokenTTL:     durationValue(o.RefreshTokenTTL, 720*time.Hour),
	}
	if o.TokenCacheTTL != nil {
		cfg.OAuth.TokenCacheTTL = &serverconfig.Duration{Duration: o.TokenCacheTTL.Duration}
	}
	if oidc := o.OIDC; oidc != nil {
		cfg.OAuth.OIDC = &serverconfig.OIDC{
			IssuerURL:        oidc.IssuerURL,
			ClientID:         oidc.ClientID,
			ClientSecretFile: oidcDir + "/" + oidcSecretKey,
			Scopes:           oidc.Scopes,
			UsernameClaim:    oidc.UsernameClaim,
		}
	}
	for _, c := range o.IssuingClients {
		cfg.OAuth.IssuingClients = append(cfg.OAuth.IssuingClients, serverconfig.IssuingClient{ClientID: c.ClientID, Scopes: c.Scopes})
	}
	if cs := p.Spec.CredentialStatus; cs != nil {
		// Unset stays unset, so providers that never chose keep their
		// rendered bytes (and their pods) unchanged.
		switch cs.Entries {
		case clrv1.StatusEntriesAll:
			cfg.CredentialStatus.Entries = serverconfig.StatusEntriesAll
		case clrv1.StatusEntriesRevocation:
			cfg.CredentialStatus.Entries = serverconfig.StatusEntriesRevocation
		}
	}
	return cfg
}

// configMapData is the provider ConfigMap: the config, each framework
// document and each issuer's keyring.
func configMapData(cfg serverconfig.Config, issuers []resolvedIssuer, frameworks []resolvedFramework) (map[string]string, error) {
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding clr-server config: %w", err)
	}
	data := map[string]string{configFileKey: string(raw) + "\n"}
	for _, f := range frameworks {
		doc, err := frameworkJSON(f.rendered)
		if err != nil {
			return nil, err
		}
		data[frameworkFileKey(f.ref.Name)] = doc
	}
	for _, i := range issuers {
		data[keyringFileKey(i.object.Name)] = i.keyring
	}
	return data, nil
}

// restartHash hashes the inputs clr-server reads only at start: the config
// and the framework documents, and the internal secrets. Keyrings and key
// Secrets are left out on purpose: clr-server watches those files, so a key
// rotation reaches running pods without a restart.
func restartHash(data map[string]string, secrets *corev1.Secret) string {
	h := sha256.New()
	keys := make([]string, 0, len(data))
	for k := range data {
		if len(k) > len("keyring-") && k[:len("keyring-")] == "keyring-" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%d\x00%s", k, len(data[k]), data[k])
	}
	if secrets != nil {
		fmt.Fprintf(h, "secrets\x00%x", sha256.Sum256(secrets.Data[secretsFileKey]))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// randomSecret is 32 random bytes, base64.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// internalSecrets returns the provider's internal secrets: the existing ones
// kept as they are (they are generated once: regenerating the session key or
// token pepper would log everyone out and invalidate tokens), new issuing
// clients given a secret, removed clients dropped. changed is false when
// nothing needs writing.
func internalSecrets(p *clrv1.CLRProvider, existing *corev1.Secret) (serverconfig.InternalSecrets, bool, error) {
	var cur serverconfig.InternalSecrets
	if existing != nil {
		if raw, ok := existing.Data[secretsFileKey]; ok {
			if err := json.Unmarshal(raw, &cur); err != nil {
				return cur, false, fmt.Errorf("Secret %s: %s is not valid JSON: %w", existing.Name, secretsFileKey, err)
			}
		}
	}
	changed := false
	for _, f := range []*string{&cur.SessionKey, &cur.TokenPepper, &cur.ShareLinkKey} {
		if *f == "" {
			s, err := randomSecret()
			if err != nil {
				return cur, false, err
			}
			*f = s
			changed = true
		}
	}
	want := map[string]bool{}
	for _, c := range p.Spec.OAuth.IssuingClients {
		want[c.ClientID] = true
		if cur.ClientSecrets[c.ClientID] == "" {
			s, err := randomSecret()
			if err != nil {
				return cur, false, err
			}
			if cur.ClientSecrets == nil {
				cur.ClientSecrets = map[string]string{}
			}
			cur.ClientSecrets[c.ClientID] = s
			changed = true
		}
	}
	for id := range cur.ClientSecrets {
		if !want[id] {
			delete(cur.ClientSecrets, id)
			changed = true
		}
	}
	if len(cur.ClientSecrets) == 0 {
		cur.ClientSecrets = nil
	}
	return cur, changed, nil
}
