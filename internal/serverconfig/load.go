package serverconfig

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Defaults applied by ApplyDefaults.
const (
	DefaultListen               = ":8080"
	DefaultMetricsListen        = ":9090"
	DefaultReadTimeout          = 2 * time.Minute
	DefaultWriteTimeout         = 5 * time.Minute
	DefaultMaxBodyBytes         = 10 << 20
	DefaultRateLimit            = 500.0
	DefaultAccessTokenTTL       = time.Hour
	DefaultRefreshTokenTTL      = 30 * 24 * time.Hour
	DefaultAuthorizationCodeTTL = 600 * time.Second
	// DefaultTokenCacheTTL is oauth.DefaultTokenCacheTTL (this package
	// cannot import oauth, which imports the store, which imports this).
	DefaultTokenCacheTTL = 3 * time.Second
	// MaxTokenCacheTTL bounds how late a revocation made on another
	// replica may take effect.
	MaxTokenCacheTTL     = time.Minute
	DefaultUsernameClaim = "sub"
	// MaxPageCacheBytes bounds server.pageCacheBytes: more is far beyond
	// what a clr-server pod has, most likely a unit mistake.
	MaxPageCacheBytes = 4 << 30
)

// Algorithms a signing key may have (Signing.Algorithm).
var Algorithms = []string{"Ed25519", "ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072"}

// Proof formats (Signing.ProofFormats).
const (
	ProofDataIntegrity = "DataIntegrity"
	ProofVCJWT         = "VC-JWT"
)

// Data Integrity cryptosuites (Signing.Cryptosuite).
const (
	SuiteEdDSA = "eddsa-rdfc-2022"
	SuiteECDSA = "ecdsa-rdfc-2019"
)

// MarshalJSON writes the duration as a Go duration string ("15m0s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Duration.String())
}

// UnmarshalJSON reads a Go duration string ("90s", "15m", "1h30m").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"90s\" or \"15m\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. \"90s\", \"15m\", \"1h\")", s)
	}
	d.Duration = v
	return nil
}

// Parse reads a configuration in JSON or YAML. Unknown fields are errors
// (a misspelt field would otherwise be silently ignored). It applies no
// defaults and does not validate.
func Parse(data []byte) (*Config, error) {
	if err := checkFields(data); err != nil {
		return nil, fmt.Errorf("parse configuration: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("parse configuration: %w", err)
	}
	return &c, nil
}

// durationFields are the Duration fields by path; checked before decoding
// because encoding/json does not say which field a custom unmarshaller
// failed on.
var durationFields = [][2]string{
	{"server", "readTimeout"}, {"server", "writeTimeout"},
	{"oauth", "accessTokenTTL"}, {"oauth", "refreshTokenTTL"}, {"oauth", "authorizationCodeTTL"}, {"oauth", "tokenCacheTTL"},
}

func checkDuration(v any) error {
	b, _ := json.Marshal(v)
	var d Duration
	return d.UnmarshalJSON(b)
}

// byteFields are integer byte counts by path whose wrong type deserves a
// clearer error than encoding/json's (a quantity such as "32Mi" is a
// likely mistake).
var byteFields = [][2]string{{"server", "pageCacheBytes"}}

func checkBytes(v any) error {
	if n, isNum := v.(float64); !isNum || n != float64(int64(n)) {
		b, _ := json.Marshal(v)
		return fmt.Errorf("want a whole number of bytes (e.g. 33554432 for 32 MiB), got %s", b)
	}
	return nil
}

// checkFields checks the fields whose decoding errors would not name them
// (durationFields, byteFields), each error prefixed with its path.
func checkFields(data []byte) error {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil // the strict decode reports it
	}
	var errs []error
	for _, group := range []struct {
		fields [][2]string
		check  func(any) error
	}{{durationFields, checkDuration}, {byteFields, checkBytes}} {
		for _, f := range group.fields {
			sec, _ := doc[f[0]].(map[string]any)
			if v, ok := sec[f[1]]; ok && v != nil {
				if err := group.check(v); err != nil {
					errs = append(errs, fmt.Errorf("%s.%s: %w", f[0], f[1], err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Load reads, defaults and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Env names the environment variables that override the file.
const (
	EnvConfig        = "CLR_SERVER_CONFIG"
	EnvListen        = "CLR_SERVER_LISTEN"
	EnvMetricsListen = "CLR_SERVER_METRICS_LISTEN"
	EnvDataDir       = "CLR_SERVER_DATA_DIR"
	EnvContexts      = "CLR_SERVER_CONTEXTS"
	EnvPublicURL     = "CLR_SERVER_PUBLIC_URL"
	EnvDev           = "CLR_SERVER_DEV"
)

// ApplyEnv overrides fields from CLR_SERVER_* environment variables (read
// through getenv, os.Getenv if nil). Flags, applied after, override both.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	set := func(env string, dst *string) {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	set(EnvListen, &c.Server.Listen)
	set(EnvMetricsListen, &c.Server.MetricsListen)
	set(EnvDataDir, &c.Server.DataDir)
	set(EnvContexts, &c.ContextsDir)
	set(EnvPublicURL, &c.Server.PublicURL)
	if v := getenv(EnvDev); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", EnvDev, v)
		}
		c.Dev = b
	}
	return nil
}

// ApplyDefaults fills unset optional fields. A negative Server.RateLimit
// (no rate limit, e.g. for load tests) is kept as is.
func (c *Config) ApplyDefaults() {
	s := &c.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.MetricsListen == "" {
		s.MetricsListen = DefaultMetricsListen
	}
	if s.PublicURL == "" && c.Dev {
		s.PublicURL = "http://" + loopbackHostPort(s.Listen)
	}
	s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	if s.ReadTimeout.Duration == 0 {
		s.ReadTimeout.Duration = DefaultReadTimeout
	}
	if s.WriteTimeout.Duration == 0 {
		s.WriteTimeout.Duration = DefaultWriteTimeout
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.RateLimit == 0 {
		s.RateLimit = DefaultRateLimit
	}
	if c.Storage.Driver == "" {
		c.Storage.Driver = StorageSQLite
	}
	if c.CredentialStatus.Entries == "" {
		c.CredentialStatus.Entries = StatusEntriesRevocation
	}
	for i := range c.Issuers {
		sg := &c.Issuers[i].Signing
		if sg.Cryptosuite == "" && slices.Contains(sg.ProofFormats, ProofDataIntegrity) {
			switch {
			case sg.Algorithm == "Ed25519":
				sg.Cryptosuite = SuiteEdDSA
			case strings.HasPrefix(sg.Algorithm, "ECDSA"):
				sg.Cryptosuite = SuiteECDSA
			}
		}
	}
	o := &c.OAuth
	if o.AccessTokenTTL.Duration == 0 {
		o.AccessTokenTTL.Duration = DefaultAccessTokenTTL
	}
	if o.RefreshTokenTTL.Duration == 0 {
		o.RefreshTokenTTL.Duration = DefaultRefreshTokenTTL
	}
	if o.AuthorizationCodeTTL.Duration == 0 {
		o.AuthorizationCodeTTL.Duration = DefaultAuthorizationCodeTTL
	}
	// Unset is the default; an explicit "0s" turns the cache off.
	if o.TokenCacheTTL == nil {
		o.TokenCacheTTL = &Duration{DefaultTokenCacheTTL}
	}
	if o.OIDC != nil {
		if len(o.OIDC.Scopes) == 0 {
			o.OIDC.Scopes = []string{"openid", "profile", "email"}
		}
		if o.OIDC.UsernameClaim == "" {
			o.OIDC.UsernameClaim = DefaultUsernameClaim
		}
	}
}

// loopbackHostPort turns a listen address into something a browser can
// open: ":8080" and "0.0.0.0:8080" become "127.0.0.1:8080".
func loopbackHostPort(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// nameRE is a DNS label, as Kubernetes object names used in URLs are.
var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate reports every problem, each prefixed by its field path (e.g.
// "issuers[0].signing.algorithm: ..."), joined with errors.Join.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.APIVersion != APIVersion {
		if c.APIVersion == "" {
			bad("apiVersion", "required (%q)", APIVersion)
		} else {
			bad("apiVersion", "%q is not supported (want %q)", c.APIVersion, APIVersion)
		}
	}

	s := c.Server
	if err := checkListen(s.Listen); err != nil {
		bad("server.listen", "%v", err)
	}
	if s.MetricsListen != "" {
		if err := checkListen(s.MetricsListen); err != nil {
			bad("server.metricsListen", "%v", err)
		} else if s.MetricsListen == s.Listen && !strings.HasSuffix(s.Listen, ":0") {
			bad("server.metricsListen", "must differ from server.listen (%s)", s.Listen)
		}
	}
	if err := checkPublicURL(s.PublicURL); err != nil {
		bad("server.publicURL", "%v", err)
	}
	if s.ReadTimeout.Duration < 0 {
		bad("server.readTimeout", "must not be negative")
	}
	if s.WriteTimeout.Duration < 0 {
		bad("server.writeTimeout", "must not be negative")
	}
	if s.MaxBodyBytes < 0 {
		bad("server.maxBodyBytes", "must not be negative")
	}
	if n := s.PageCacheBytes; n != nil && (*n < 0 || *n > MaxPageCacheBytes) {
		bad("server.pageCacheBytes", "%d is not between 0 (no cache) and %d (4 GiB); leave it unset to size the cache from the container's memory limit", *n, int64(MaxPageCacheBytes))
	}

	switch c.Storage.Driver {
	case StorageSQLite:
		if c.Storage.SQLitePath == "" && s.DataDir == "" {
			bad("storage.sqlitePath", "required when server.dataDir is not set")
		}
		if c.Storage.PostgresDSNFile != "" || c.Storage.PostgresDSNEnv != "" {
			bad("storage.driver", "is sqlite but a PostgreSQL DSN is configured")
		}
	case StoragePostgres:
		if (c.Storage.PostgresDSNFile == "") == (c.Storage.PostgresDSNEnv == "") {
			bad("storage", "driver postgres needs exactly one of postgresDSNFile or postgresDSNEnv")
		}
	default:
		bad("storage.driver", "%q is not one of sqlite, postgres", c.Storage.Driver)
	}

	switch c.CredentialStatus.Entries {
	case StatusEntriesRevocation, StatusEntriesAll:
	default:
		bad("credentialStatus.entries", "%q is not one of %s, %s", c.CredentialStatus.Entries, StatusEntriesRevocation, StatusEntriesAll)
	}

	if len(c.Issuers) == 0 {
		bad("issuers", "at least one issuer is required")
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		p := fmt.Sprintf("issuers[%d]", i)
		if !nameRE.MatchString(is.Name) {
			bad(p+".name", "%q must be a lower-case DNS label (a-z, 0-9, '-')", is.Name)
		} else if seen[is.Name] {
			bad(p+".name", "duplicate issuer %q", is.Name)
		}
		seen[is.Name] = true
		if is.DID != "" && !strings.HasPrefix(is.DID, "did:") {
			bad(p+".did", "%q is not a DID", is.DID)
		}
		if len(is.Profile) == 0 {
			bad(p+".profile", "required (the institution's Open Badges Profile, with at least a name)")
		} else if name, _ := is.Profile["name"].(string); name == "" {
			bad(p+".profile.name", "required")
		}
		for j, a := range is.Authority {
			checkAuthority(fmt.Sprintf("%s.authority[%d]", p, j), a, bad)
		}
		sg := is.Signing
		if !slices.Contains(Algorithms, sg.Algorithm) {
			bad(p+".signing.algorithm", "%q is not one of %s", sg.Algorithm, strings.Join(Algorithms, ", "))
		}
		if sg.KeyDir == "" {
			bad(p+".signing.keyDir", "required (directory holding tls.key)")
		}
		if len(sg.ProofFormats) == 0 {
			bad(p+".signing.proofFormats", "at least one of %s, %s", ProofVCJWT, ProofDataIntegrity)
		}
		for j, f := range sg.ProofFormats {
			if f != ProofVCJWT && f != ProofDataIntegrity {
				bad(fmt.Sprintf("%s.signing.proofFormats[%d]", p, j), "%q is not one of %s, %s", f, ProofVCJWT, ProofDataIntegrity)
			}
		}
		if slices.Contains(sg.ProofFormats, ProofDataIntegrity) {
			switch {
			case sg.Cryptosuite == SuiteEdDSA && sg.Algorithm != "Ed25519",
				sg.Cryptosuite == SuiteECDSA && !strings.HasPrefix(sg.Algorithm, "ECDSA"):
				bad(p+".signing.cryptosuite", "%s does not work with a %s key", sg.Cryptosuite, sg.Algorithm)
			case sg.Cryptosuite == "" && strings.HasPrefix(sg.Algorithm, "RSA"):
				bad(p+".signing.proofFormats", "DataIntegrity has no cryptosuite for RSA keys; use VC-JWT or an Ed25519/ECDSA key")
			case sg.Cryptosuite != "" && sg.Cryptosuite != SuiteEdDSA && sg.Cryptosuite != SuiteECDSA:
				bad(p+".signing.cryptosuite", "%q is not one of %s, %s", sg.Cryptosuite, SuiteEdDSA, SuiteECDSA)
			}
		}
	}

	fseen := map[string]bool{}
	for i, f := range c.Frameworks {
		p := fmt.Sprintf("frameworks[%d]", i)
		if !nameRE.MatchString(f.Name) {
			bad(p+".name", "%q must be a lower-case DNS label", f.Name)
		} else if fseen[f.Name] {
			bad(p+".name", "duplicate framework %q", f.Name)
		}
		fseen[f.Name] = true
		if f.File == "" {
			bad(p+".file", "required")
		}
	}

	o := c.OAuth
	for name, d := range map[string]Duration{"accessTokenTTL": o.AccessTokenTTL, "refreshTokenTTL": o.RefreshTokenTTL,
		"authorizationCodeTTL": o.AuthorizationCodeTTL} {
		if d.Duration < 0 {
			bad("oauth."+name, "must not be negative")
		}
	}
	if d := o.TokenCacheTTL; d != nil && (d.Duration < 0 || d.Duration > MaxTokenCacheTTL) {
		bad("oauth.tokenCacheTTL", "%s is not between 0s (no cache) and %s: it bounds how late a revocation on another replica takes effect", d.Duration, MaxTokenCacheTTL)
	}
	if o.AuthorizationCodeTTL.Duration > 10*time.Minute {
		bad("oauth.authorizationCodeTTL", "%s exceeds the 10 minutes RFC 6749 §4.1.2 recommends as a maximum", o.AuthorizationCodeTTL.Duration)
	}
	// Without an OIDC provider (and without dev) learners cannot sign in;
	// the server still issues, publishes and verifies. That is allowed so a
	// tenant can come up before its institution's IdP is registered.
	if o.OIDC != nil {
		if u, err := url.Parse(o.OIDC.IssuerURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("oauth.oidc.issuerURL", "%q is not an absolute http(s) URL", o.OIDC.IssuerURL)
		}
		if o.OIDC.ClientID == "" {
			bad("oauth.oidc.clientID", "required")
		}
		if o.OIDC.ClientSecretFile == "" {
			bad("oauth.oidc.clientSecretFile", "required")
		}
	}
	cseen := map[string]bool{}
	for i, ic := range o.IssuingClients {
		p := fmt.Sprintf("oauth.issuingClients[%d]", i)
		if ic.ClientID == "" {
			bad(p+".clientID", "required")
		} else if cseen[ic.ClientID] {
			bad(p+".clientID", "duplicate client %q", ic.ClientID)
		}
		cseen[ic.ClientID] = true
		if len(ic.Scopes) == 0 {
			bad(p+".scopes", "at least one scope is required")
		}
	}
	if c.SecretsFile == "" && !c.Dev {
		bad("secretsFile", "required unless dev is set")
	}
	return errors.Join(errs...)
}

// Limits of an authority's fields: the same as the Issuer CRD's, so that
// what the operator accepts clr-server accepts.
const (
	maxAuthorityName        = 256
	maxAuthorityURL         = 2048
	maxAuthorityIdentifier  = 256
	maxAuthorityDescription = 1024
)

// checkAuthority validates one issuer authority. Its URL becomes a link on
// the verification page, so only absolute http(s) URLs are accepted.
func checkAuthority(p string, a Authority, bad func(field, format string, args ...any)) {
	switch {
	case strings.TrimSpace(a.Name) == "":
		bad(p+".name", "required (the accreditor or authority, e.g. a regional accreditor)")
	case len(a.Name) > maxAuthorityName:
		bad(p+".name", "longer than %d bytes", maxAuthorityName)
	}
	if a.URL != "" {
		u, err := url.Parse(a.URL)
		switch {
		case len(a.URL) > maxAuthorityURL:
			bad(p+".url", "longer than %d bytes", maxAuthorityURL)
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(a.URL, " \t\n\r"):
			bad(p+".url", "%q is not an absolute http(s) URL", a.URL)
		}
	}
	if len(a.Identifier) > maxAuthorityIdentifier {
		bad(p+".identifier", "longer than %d bytes", maxAuthorityIdentifier)
	}
	if len(a.Description) > maxAuthorityDescription {
		bad(p+".description", "longer than %d bytes", maxAuthorityDescription)
	}
}

func checkListen(addr string) error {
	if addr == "" {
		return errors.New("required (host:port, e.g. \":8080\")")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", addr)
	}
	return nil
}

func checkPublicURL(s string) error {
	if s == "" {
		return errors.New("required (the external base URL, e.g. https://clr.example.edu)")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must not have a query, fragment or user info", s)
	}
	return nil
}

// LoadSecrets reads and checks the internal secrets file.
func LoadSecrets(path string) (*InternalSecrets, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	var s InternalSecrets
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		// Never echo the content: it is secret.
		return nil, fmt.Errorf("secrets file %s: not a valid secrets document", path)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("secrets file %s: %w", path, err)
	}
	return &s, nil
}

// Validate checks that every key is base64 of at least 32 bytes.
func (s *InternalSecrets) Validate() error {
	var errs []error
	for name, v := range map[string]string{"sessionKey": s.SessionKey, "tokenPepper": s.TokenPepper, "shareLinkKey": s.ShareLinkKey} {
		b, err := DecodeKey(v)
		if err != nil || len(b) < 32 {
			errs = append(errs, fmt.Errorf("%s: must be base64 of at least 32 random bytes", name))
		}
	}
	for id, v := range s.ClientSecrets {
		if len(v) < 16 {
			errs = append(errs, fmt.Errorf("clientSecrets[%s]: too short (at least 16 characters)", id))
		}
	}
	return errors.Join(errs...)
}

// DecodeKey decodes a base64 key in any of the standard and URL-safe
// alphabets, padded or not.
func DecodeKey(v string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// LoadFramework reads and checks a rendered framework document.
func LoadFramework(path string) (*Framework, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("framework: %w", err)
	}
	var f Framework
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("framework %s: %w", path, err)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("framework %s: %w", path, err)
	}
	return &f, nil
}

// Validate checks a framework's structure: names, unique level and
// competency ids, parents that exist.
func (f *Framework) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if !nameRE.MatchString(f.Name) {
		bad("name", "%q must be a lower-case DNS label", f.Name)
	}
	if f.Title == "" {
		bad("title", "required")
	}
	if len(f.Levels) == 0 {
		bad("levels", "at least one level is required")
	}
	ids := map[string]bool{}
	for i, l := range f.Levels {
		if l.ID == "" || l.Name == "" {
			bad(fmt.Sprintf("levels[%d]", i), "id and name are required")
		} else if ids[l.ID] {
			bad(fmt.Sprintf("levels[%d].id", i), "duplicate %q", l.ID)
		}
		ids[l.ID] = true
	}
	if len(f.Competencies) == 0 {
		bad("competencies", "at least one competency is required")
	}
	cids := map[string]bool{}
	for i, c := range f.Competencies {
		if c.ID == "" || c.Name == "" {
			bad(fmt.Sprintf("competencies[%d]", i), "id and name are required")
		} else if cids[c.ID] {
			bad(fmt.Sprintf("competencies[%d].id", i), "duplicate %q", c.ID)
		}
		cids[c.ID] = true
	}
	for i, c := range f.Competencies {
		if c.Parent != "" && !cids[c.Parent] {
			bad(fmt.Sprintf("competencies[%d].parent", i), "%q is not a competency of this framework", c.Parent)
		}
	}
	return errors.Join(errs...)
}
