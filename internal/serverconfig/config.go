// Package serverconfig holds the configuration file format of clr-server.
//
// It is the contract between the operator, which renders one file per tenant
// (CLRProvider) into a ConfigMap, and clr-server, which reads it. It knows
// nothing of Kubernetes: paths point at files the operator mounts (signing
// key Secrets, keyrings, rendered frameworks, generated internal secrets).
// The file is JSON or YAML (YAML is read through sigs.k8s.io/yaml, so the
// json tags are the field names in both).
package serverconfig

import "time"

// APIVersion is the version of this file format; clr-server rejects others.
const APIVersion = "clr.learnerrecords.io/server-config/v1"

// Config is the whole clr-server configuration.
type Config struct {
	APIVersion string `json:"apiVersion"`

	// Server is where and how clr-server listens.
	Server Server `json:"server"`
	// Storage is the database.
	Storage Storage `json:"storage"`
	// Issuers are the institution's issuing identities served by this host.
	Issuers []Issuer `json:"issuers"`
	// Frameworks are learning frameworks, each a rendered document file.
	Frameworks []FrameworkRef `json:"frameworks,omitempty"`
	// OAuth configures the OAuth 2.0 authorization server.
	OAuth OAuth `json:"oauth"`
	// SecretsFile is a JSON file holding the generated internal secrets
	// (see InternalSecrets). Never inline: the config lives in a ConfigMap.
	SecretsFile string `json:"secretsFile,omitempty"`
	// ContextsDir holds the pinned JSON-LD contexts (see the credential core).
	ContextsDir string `json:"contextsDir,omitempty"`
	// Dev enables the built-in development login instead of an upstream IdP.
	Dev bool `json:"dev,omitempty"`
	// CredentialStatus chooses the credentialStatus entries issued
	// credentials carry.
	CredentialStatus CredentialStatus `json:"credentialStatus,omitzero"`
}

// StatusEntries names a credentialStatus policy.
type StatusEntries string

const (
	// StatusEntriesRevocation (the default): one BitstringStatusListEntry
	// with statusPurpose revocation. The OB 3.0 / CLR 2.0 data model and
	// JSON Schemas allow exactly one credentialStatus object, so this is
	// what every schema-based validator (1EdTech's included) accepts.
	// Credentials issued so cannot be suspended, only revoked.
	StatusEntriesRevocation StatusEntries = "revocation"
	// StatusEntriesAll: an array of three entries, BitstringStatusListEntry
	// for revocation and for suspension plus the issuer's
	// 1EdTechRevocationList, as VC Data Model 2.0 allows. Suspension works,
	// and verifiers knowing either status method can check; validators that
	// apply the OB 3.0 / CLR 2.0 JSON Schemas strictly reject the array.
	StatusEntriesAll StatusEntries = "all"
)

// CredentialStatus is the status policy of credentials issued here. It
// applies at issuance: credentials already issued keep their entries.
type CredentialStatus struct {
	// Entries is "revocation" (default) or "all".
	Entries StatusEntries `json:"entries,omitzero"`
}

// Server is the network side of clr-server.
type Server struct {
	// Listen is the API address, e.g. ":8080".
	Listen string `json:"listen"`
	// MetricsListen is the Prometheus /metrics address, e.g. ":9090".
	MetricsListen string `json:"metricsListen,omitempty"`
	// PublicURL is the external base URL (scheme, host, optional path
	// prefix, no trailing slash), e.g. "https://clr.example.edu/records".
	// Credential, profile, status list and DID URLs are built from it.
	PublicURL string `json:"publicURL"`
	// DataDir is a writable directory (SQLite database, caches).
	DataDir string `json:"dataDir,omitempty"`
	// ReadTimeout/WriteTimeout bound one request; MaxBodyBytes bounds bodies.
	ReadTimeout  Duration `json:"readTimeout,omitempty"`
	WriteTimeout Duration `json:"writeTimeout,omitempty"`
	MaxBodyBytes int64    `json:"maxBodyBytes,omitempty"`
	// RateLimit is requests per second per OAuth client (0 = default).
	RateLimit float64 `json:"rateLimit,omitempty"`
	// PageCacheBytes bounds the memory of the GET credentials page cache,
	// in bytes ("0" turns it off; at most MaxPageCacheBytes). Unset means
	// automatic: a quarter of the container's memory limit
	// ($CLR_MEMORY_LIMIT) up to 64 MiB, or 64 MiB without a known limit,
	// so that a small pod is not half cache. Only SQLite stores use the
	// cache (see internal/clrapi).
	PageCacheBytes *int64 `json:"pageCacheBytes,omitempty"`
}

// StorageDriver names a store implementation.
type StorageDriver string

const (
	StorageSQLite   StorageDriver = "sqlite"
	StoragePostgres StorageDriver = "postgres"
)

// Storage selects and configures the database.
type Storage struct {
	Driver StorageDriver `json:"driver"`
	// SQLitePath is the database file (default: DataDir/clr.db).
	SQLitePath string `json:"sqlitePath,omitempty"`
	// PostgresDSNFile is a file holding a libpq connection string or URL
	// (mounted from the tenant's Secret; the DSN holds a password).
	PostgresDSNFile string `json:"postgresDSNFile,omitempty"`
	// PostgresDSNEnv names an environment variable holding the DSN, as an
	// alternative to the file.
	PostgresDSNEnv string `json:"postgresDSNEnv,omitempty"`
}

// Issuer is one issuing identity of the institution.
type Issuer struct {
	// Name is the stable short name (the Issuer object's name); it appears in
	// URLs: {publicURL}/issuers/{name}.
	Name string `json:"name"`
	// DID is the issuer's id, e.g. "did:web:clr.example.edu:issuers:state-u".
	// Empty means clr-server derives a did:web from PublicURL and Name.
	DID string `json:"did,omitempty"`
	// Profile is the Open Badges 3.0 Profile of the institution as JSON
	// (without id; clr-server sets id = DID).
	Profile map[string]any `json:"profile"`
	// Signing says where the key is and what to issue.
	Signing Signing `json:"signing"`
	// Authority lists the accreditations and legal authority under which
	// the institution certifies learning. clr-server publishes them in the
	// issuer's Profile (as otherIdentifier entries, see AuthorityIdentifierType)
	// and on the verification page ("Accredited by ...").
	Authority []Authority `json:"authority,omitempty"`
}

// AuthorityIdentifierType is the Open Badges IdentifierEntry type of an
// authority published in an issuer Profile. The OB 3.0 Profile has no
// accreditation property; otherIdentifier (IdentifierEntry, whose
// identifierType enumeration is extensible with "ext:" terms) is the
// defined property that carries it without leaving the standard's
// vocabulary: extra properties would be issuer-dependent terms in every
// signed credential.
const AuthorityIdentifierType = "ext:authority"

// Authority is an accreditation or a legal authority to certify learning.
type Authority struct {
	// Name of the authority, e.g. "Northwest Commission on Colleges and
	// Universities".
	Name string `json:"name"`
	// URL where the accreditation or authority can be checked (http or
	// https).
	URL string `json:"url,omitempty"`
	// Identifier of the institution at that authority (an accreditation or
	// charter number).
	Identifier string `json:"identifier,omitempty"`
	// Description of what is accredited or authorised.
	Description string `json:"description,omitempty"`
}

// ProfileIdentifier is the IdentifierEntry that publishes the authority in
// an Open Badges Profile: the URL where it can be checked when there is one
// (a verifier can follow it, and it names the authority by its host),
// otherwise the institution's identifier at the authority. ok is false
// when the authority has neither (it then appears on the verification page
// only).
func (a Authority) ProfileIdentifier() (entry map[string]any, ok bool) {
	id := a.URL
	if id == "" {
		id = a.Identifier
	}
	if id == "" {
		return nil, false
	}
	return map[string]any{"type": "IdentifierEntry", "identifier": id, "identifierType": AuthorityIdentifierType}, true
}

// Signing locates an issuer's key material and formats.
type Signing struct {
	// Algorithm is one of Ed25519, ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072.
	Algorithm string `json:"algorithm"`
	// KeyDir is a directory holding tls.key (PEM private key) and tls.crt, as
	// cert-manager writes them into a kubernetes.io/tls Secret. clr-server
	// watches it and picks up a renewed key without restart.
	KeyDir string `json:"keyDir"`
	// KeyringFile is a JSON Keyring of published public keys (current and
	// retired still within retention), also watched.
	KeyringFile string `json:"keyringFile,omitempty"`
	// ProofFormats to issue: "DataIntegrity", "VC-JWT" (at least one).
	ProofFormats []string `json:"proofFormats"`
	// Cryptosuite for DataIntegrity: "eddsa-rdfc-2022" or "ecdsa-rdfc-2019".
	Cryptosuite string `json:"cryptosuite,omitempty"`
}

// FrameworkRef points at a rendered Framework document (see Framework).
type FrameworkRef struct {
	// Name is the stable short name used in URLs: {publicURL}/frameworks/{name}.
	Name string `json:"name"`
	// File holds the Framework as JSON.
	File string `json:"file"`
}

// OAuth configures the authorization server.
type OAuth struct {
	// DynamicRegistration enables RFC 7591 client registration.
	DynamicRegistration bool `json:"dynamicRegistration"`
	// AccessTokenTTL, RefreshTokenTTL and AuthorizationCodeTTL bound tokens.
	AccessTokenTTL       Duration `json:"accessTokenTTL,omitempty"`
	RefreshTokenTTL      Duration `json:"refreshTokenTTL,omitempty"`
	AuthorizationCodeTTL Duration `json:"authorizationCodeTTL,omitempty"`
	// TokenCacheTTL is how long clr-server trusts an access token it has
	// checked against the database before checking it again (default 3s;
	// "0s" checks every request; at most 1m). A revocation through this
	// replica takes effect at once; one made through another replica
	// (PostgreSQL, several replicas) takes effect here within this time.
	TokenCacheTTL *Duration `json:"tokenCacheTTL,omitempty"`
	// OIDC is the institution's upstream OpenID Connect provider for
	// learners' login. Required unless Config.Dev is set.
	OIDC *OIDC `json:"oidc,omitempty"`
	// IssuingClients are institutional systems (SIS, registrar) allowed the
	// client-credentials grant with issuing scopes. Their secrets are in the
	// SecretsFile under the same client id.
	IssuingClients []IssuingClient `json:"issuingClients,omitempty"`
}

// TokenCacheTTLOrDefault is the bearer token cache TTL in effect: the
// configured one (0: no cache), or DefaultTokenCacheTTL when unset.
func (o *OAuth) TokenCacheTTLOrDefault() time.Duration {
	if o.TokenCacheTTL == nil {
		return DefaultTokenCacheTTL
	}
	return o.TokenCacheTTL.Duration
}

// OIDC is an upstream OpenID Connect provider.
type OIDC struct {
	IssuerURL string `json:"issuerURL"`
	ClientID  string `json:"clientID"`
	// ClientSecretFile holds the client secret (mounted from a Secret).
	ClientSecretFile string `json:"clientSecretFile"`
	// Scopes requested upstream (default: openid profile email).
	Scopes []string `json:"scopes,omitempty"`
	// UsernameClaim maps the upstream identity to the learner (default "sub").
	UsernameClaim string `json:"usernameClaim,omitempty"`
}

// IssuingClient is an institutional client of the issuing API.
type IssuingClient struct {
	ClientID string   `json:"clientID"`
	Scopes   []string `json:"scopes"`
}

// InternalSecrets is the content of Config.SecretsFile, generated by the
// operator into a Secret once per tenant.
type InternalSecrets struct {
	// SessionKey signs login sessions and CSRF tokens (base64, 32+ bytes).
	SessionKey string `json:"sessionKey"`
	// TokenPepper is mixed into token hashes (base64, 32+ bytes).
	TokenPepper string `json:"tokenPepper"`
	// ShareLinkKey derives unguessable share links (base64, 32+ bytes).
	ShareLinkKey string `json:"shareLinkKey"`
	// ClientSecrets of IssuingClients, by client id.
	ClientSecrets map[string]string `json:"clientSecrets,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("15m").
type Duration struct{ time.Duration }
