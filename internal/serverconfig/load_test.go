package serverconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const validYAML = `
apiVersion: clr.learnerrecords.io/server-config/v1
server:
  listen: ":8080"
  publicURL: https://clr.example.edu/records/
  readTimeout: 45s
storage:
  driver: postgres
  postgresDSNFile: /etc/clr/db/dsn
issuers:
  - name: state-u
    profile:
      name: State University
    signing:
      algorithm: Ed25519
      keyDir: /etc/clr/keys/state-u
      proofFormats: [VC-JWT, DataIntegrity]
    authority:
      - name: Northwest Commission on Colleges and Universities
        url: https://nwccu.org/institutions/state-u
        identifier: NWCCU-0042
      - name: State Board of Higher Education
        identifier: charter 1890-17
frameworks:
  - name: tl
    file: /etc/clr/frameworks/tl.json
oauth:
  dynamicRegistration: true
  accessTokenTTL: 15m
  oidc:
    issuerURL: https://login.example.edu
    clientID: clr
    clientSecretFile: /etc/clr/oidc/secret
  issuingClients:
    - clientID: sis
      scopes: [https://learnerrecords.io/scope/issue]
secretsFile: /etc/clr/secrets/secrets.json
`

func TestParseYAMLAndDefaults(t *testing.T) {
	c, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid configuration rejected: %v", err)
	}
	if c.Server.PublicURL != "https://clr.example.edu/records" {
		t.Errorf("trailing slash kept: %q", c.Server.PublicURL)
	}
	if c.Server.ReadTimeout.Duration != 45*time.Second || c.OAuth.AccessTokenTTL.Duration != 15*time.Minute {
		t.Errorf("durations: %v %v", c.Server.ReadTimeout, c.OAuth.AccessTokenTTL)
	}
	if c.Server.WriteTimeout.Duration != DefaultWriteTimeout || c.OAuth.AuthorizationCodeTTL.Duration != 600*time.Second ||
		c.Server.MetricsListen != DefaultMetricsListen || c.Server.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("defaults not applied: %+v %+v", c.Server, c.OAuth)
	}
	if c.Issuers[0].Signing.Cryptosuite != SuiteEdDSA {
		t.Errorf("cryptosuite default %q", c.Issuers[0].Signing.Cryptosuite)
	}
	if c.OAuth.OIDC.UsernameClaim != "sub" || len(c.OAuth.OIDC.Scopes) != 3 {
		t.Errorf("OIDC defaults %+v", c.OAuth.OIDC)
	}
	if c.CredentialStatus.Entries != StatusEntriesRevocation {
		t.Errorf("credentialStatus.entries default %q", c.CredentialStatus.Entries)
	}
}

func TestJSONEqualsYAML(t *testing.T) {
	y, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(y)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"readTimeout":"45s"`) {
		t.Errorf("Duration not written as a string: %s", b)
	}
	j, err := Parse(b)
	if err != nil {
		t.Fatalf("re-parse of the JSON form: %v", err)
	}
	b2, _ := json.Marshal(j)
	if string(b) != string(b2) {
		t.Fatalf("JSON round trip differs:\n%s\n%s", b, b2)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct{ doc, want string }{
		"unknown field":       {"apiVersion: x\nserver:\n  listn: \":80\"\n", "listn"},
		"bad duration":        {"server:\n  readTimeout: soon\n", `server.readTimeout: invalid duration "soon"`},
		"number duration":     {"oauth:\n  accessTokenTTL: 3600\n", "oauth.accessTokenTTL: a duration must be a string"},
		"bad token cache TTL": {"oauth:\n  tokenCacheTTL: 3 seconds\n", `oauth.tokenCacheTTL: invalid duration "3 seconds"`},
		"not YAML":            {"server: [", "parse configuration"},
		"wrong type":          {"server:\n  maxBodyBytes: lots\n", "maxBodyBytes"},
		"page cache quantity": {"server:\n  pageCacheBytes: 32Mi\n", `server.pageCacheBytes: want a whole number of bytes (e.g. 33554432 for 32 MiB), got "32Mi"`},
		"page cache fraction": {"server:\n  pageCacheBytes: 1.5\n", "server.pageCacheBytes: want a whole number of bytes"},
	}
	for name, tc := range cases {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, tc.want)
		}
	}
}

func TestValidationNamesFields(t *testing.T) {
	base := func() *Config {
		c, err := Parse([]byte(validYAML))
		if err != nil {
			t.Fatal(err)
		}
		c.ApplyDefaults()
		return c
	}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"api version", func(c *Config) { c.APIVersion = "v0" }, `apiVersion: "v0" is not supported`},
		{"listen", func(c *Config) { c.Server.Listen = "8080" }, "server.listen:"},
		{"metrics same port", func(c *Config) { c.Server.MetricsListen = c.Server.Listen }, "server.metricsListen: must differ"},
		{"public URL", func(c *Config) { c.Server.PublicURL = "clr.example.edu" }, "server.publicURL:"},
		{"public URL query", func(c *Config) { c.Server.PublicURL = "https://x.example?a=b" }, "server.publicURL:"},
		{"driver", func(c *Config) { c.Storage.Driver = "mysql" }, `storage.driver: "mysql" is not one of`},
		{"postgres dsn", func(c *Config) { c.Storage.PostgresDSNFile = "" }, "exactly one of postgresDSNFile or postgresDSNEnv"},
		{"no issuers", func(c *Config) { c.Issuers = nil }, "issuers: at least one issuer"},
		{"issuer name", func(c *Config) { c.Issuers[0].Name = "State U" }, "issuers[0].name:"},
		{"duplicate issuer", func(c *Config) { c.Issuers = append(c.Issuers, c.Issuers[0]) }, `issuers[1].name: duplicate issuer "state-u"`},
		{"algorithm", func(c *Config) { c.Issuers[0].Signing.Algorithm = "Ed448" }, `issuers[0].signing.algorithm: "Ed448" is not one of`},
		{"key dir", func(c *Config) { c.Issuers[0].Signing.KeyDir = "" }, "issuers[0].signing.keyDir: required"},
		{"proof format", func(c *Config) { c.Issuers[0].Signing.ProofFormats = []string{"LD"} }, "issuers[0].signing.proofFormats[0]:"},
		{"suite mismatch", func(c *Config) { c.Issuers[0].Signing.Cryptosuite = SuiteECDSA }, "issuers[0].signing.cryptosuite: ecdsa-rdfc-2019 does not work with a Ed25519 key"},
		{"RSA data integrity", func(c *Config) {
			c.Issuers[0].Signing.Algorithm = "RSA-2048"
			c.Issuers[0].Signing.Cryptosuite = ""
		}, "DataIntegrity has no cryptosuite for RSA"},
		{"profile name", func(c *Config) { c.Issuers[0].Profile = map[string]any{"url": "x"} }, "issuers[0].profile.name: required"},
		{"did", func(c *Config) { c.Issuers[0].DID = "web:x" }, "issuers[0].did:"},
		{"authority name", func(c *Config) { c.Issuers[0].Authority[1].Name = " " }, "issuers[0].authority[1].name: required"},
		{"authority url", func(c *Config) { c.Issuers[0].Authority[0].URL = "javascript:alert(1)" }, `issuers[0].authority[0].url: "javascript:alert(1)" is not an absolute http(s) URL`},
		{"authority relative url", func(c *Config) { c.Issuers[0].Authority[0].URL = "/accreditation" }, "issuers[0].authority[0].url:"},
		{"authority identifier", func(c *Config) { c.Issuers[0].Authority[0].Identifier = strings.Repeat("x", 257) }, "issuers[0].authority[0].identifier: longer than 256"},
		{"authority description", func(c *Config) { c.Issuers[0].Authority[0].Description = strings.Repeat("x", 1025) }, "issuers[0].authority[0].description: longer than 1024"},
		{"framework file", func(c *Config) { c.Frameworks[0].File = "" }, "frameworks[0].file: required"},
		{"oidc issuer", func(c *Config) { c.OAuth.OIDC.IssuerURL = "login" }, "oauth.oidc.issuerURL:"},
		{"code ttl", func(c *Config) { c.OAuth.AuthorizationCodeTTL.Duration = time.Hour }, "oauth.authorizationCodeTTL:"},
		{"token cache ttl too long", func(c *Config) { c.OAuth.TokenCacheTTL = &Duration{2 * time.Minute} }, "oauth.tokenCacheTTL: 2m0s is not between 0s (no cache) and 1m0s"},
		{"token cache ttl negative", func(c *Config) { c.OAuth.TokenCacheTTL = &Duration{-time.Second} }, "oauth.tokenCacheTTL: -1s is not between"},
		{"page cache negative", func(c *Config) { c.Server.PageCacheBytes = ptr(int64(-1)) }, "server.pageCacheBytes: -1 is not between 0 (no cache) and 4294967296"},
		{"page cache absurd", func(c *Config) { c.Server.PageCacheBytes = ptr(int64(MaxPageCacheBytes + 1)) }, "server.pageCacheBytes: 4294967297 is not between"},
		{"issuing client scopes", func(c *Config) { c.OAuth.IssuingClients[0].Scopes = nil }, "oauth.issuingClients[0].scopes:"},
		{"secrets", func(c *Config) { c.SecretsFile = "" }, "secretsFile: required"},
		{"status entries", func(c *Config) { c.CredentialStatus.Entries = "both" }, `credentialStatus.entries: "both" is not one of revocation, all`},
	}
	for _, tc := range cases {
		c := base()
		tc.mutate(c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v\nwant it to contain %q", tc.name, err, tc.want)
		}
	}
	// Every problem is reported at once.
	c := base()
	c.Server.Listen = ""
	c.Issuers[0].Signing.Algorithm = ""
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "server.listen") || !strings.Contains(err.Error(), "issuers[0].signing.algorithm") {
		t.Fatalf("not every problem reported: %v", err)
	}
}

// A tenant may come up before its institution's identity provider is
// registered: without OIDC the config is valid (learners cannot sign in yet;
// the OAuth server says so on its authorize page).
func TestNoOIDCIsValid(t *testing.T) {
	c, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if c.OAuth.OIDC == nil {
		t.Fatal("the base config has no OIDC provider to remove")
	}
	c.OAuth.OIDC = nil
	if err := c.Validate(); err != nil {
		t.Fatalf("a config without an OIDC provider was refused: %v", err)
	}
}

func TestDevNeedsNoOIDCOrSecrets(t *testing.T) {
	c := &Config{APIVersion: APIVersion, Dev: true, Server: Server{Listen: "127.0.0.1:8080", DataDir: "d", RateLimit: -1},
		Issuers: []Issuer{{Name: "dev", Profile: map[string]any{"name": "Dev"},
			Signing: Signing{Algorithm: "Ed25519", KeyDir: "k", ProofFormats: []string{ProofVCJWT}}}}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Server.RateLimit != -1 {
		t.Fatalf("a disabled rate limit was replaced by %g", c.Server.RateLimit)
	}
	if c.Server.PublicURL != "http://127.0.0.1:8080" {
		t.Fatalf("dev public URL %q", c.Server.PublicURL)
	}
}

func TestApplyEnv(t *testing.T) {
	c, _ := Parse([]byte(validYAML))
	env := map[string]string{EnvListen: "127.0.0.1:9000", EnvDataDir: "/data", EnvContexts: "/ctx", EnvDev: "true",
		EnvPublicURL: "https://other.example"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:9000" || c.Server.DataDir != "/data" || c.ContextsDir != "/ctx" || !c.Dev ||
		c.Server.PublicURL != "https://other.example" || c.Server.MetricsListen != "" {
		t.Fatalf("env not applied: %+v dev=%v contexts=%q", c.Server, c.Dev, c.ContextsDir)
	}
	err := c.ApplyEnv(func(k string) string {
		if k == EnvDev {
			return "perhaps"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), EnvDev) {
		t.Fatalf("bad boolean accepted: %v", err)
	}
}

func TestLoadFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(validYAML, "Ed25519", "DSA", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "issuers[0].signing.algorithm") {
		t.Fatalf("Load error %v", err)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("A", 43) + "=" // 32 bytes
	good := `{"sessionKey":"` + key + `","tokenPepper":"` + key + `","shareLinkKey":"` + key + `","clientSecrets":{"sis":"0123456789abcdef0123"}}`
	p := filepath.Join(dir, "s.json")
	os.WriteFile(p, []byte(good), 0o600)
	s, err := LoadSecrets(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.ClientSecrets["sis"] == "" {
		t.Fatal("client secret lost")
	}
	short := strings.Replace(good, `"tokenPepper":"`+key, `"tokenPepper":"c2hvcnQ=`, 1)
	os.WriteFile(p, []byte(short), 0o600)
	_, err = LoadSecrets(p)
	if err == nil || !strings.Contains(err.Error(), "tokenPepper") {
		t.Fatalf("short key accepted or not named: %v", err)
	}
	os.WriteFile(p, []byte(`{"sessionKey": "`+key+`", "oops": 1}`), 0o600)
	_, err = LoadSecrets(p)
	if err == nil || strings.Contains(err.Error(), key) {
		t.Fatalf("bad secrets file: error %v must exist and not echo the content", err)
	}
}

func TestFrameworkValidation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	f := Framework{Name: "tl", Title: "TL", Levels: []FrameworkLevel{{ID: "e", Name: "Exposure"}},
		Competencies: []Competency{{ID: "ct", Name: "Critical Thinking"}, {ID: "ct2", Name: "Sub", Parent: "ct"}}}
	b, _ := json.Marshal(f)
	os.WriteFile(p, b, 0o644)
	if _, err := LoadFramework(p); err != nil {
		t.Fatal(err)
	}
	f.Competencies[1].Parent = "nope"
	f.Levels = append(f.Levels, FrameworkLevel{ID: "e", Name: "Again"})
	b, _ = json.Marshal(f)
	os.WriteFile(p, b, 0o644)
	_, err := LoadFramework(p)
	if err == nil || !strings.Contains(err.Error(), "competencies[1].parent") || !strings.Contains(err.Error(), `levels[1].id: duplicate "e"`) {
		t.Fatalf("framework errors: %v", err)
	}
}

// TestTokenCacheTTL: unset is the default, an explicit 0s turns the cache
// off (and is not replaced by the default), a value is kept.
func TestTokenCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want time.Duration
	}{
		{"", DefaultTokenCacheTTL},
		{"  tokenCacheTTL: 0s\n", 0},
		{"  tokenCacheTTL: 750ms\n", 750 * time.Millisecond},
		{"  tokenCacheTTL: 1m\n", time.Minute},
	} {
		doc := strings.Replace(validYAML, "  accessTokenTTL: 15m\n", "  accessTokenTTL: 15m\n"+tc.yaml, 1)
		c, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if got := c.OAuth.TokenCacheTTLOrDefault(); got != tc.want {
			t.Errorf("%q before defaults: %s, want %s", tc.yaml, got, tc.want)
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Fatalf("%q rejected: %v", tc.yaml, err)
		}
		if c.OAuth.TokenCacheTTL == nil || c.OAuth.TokenCacheTTL.Duration != tc.want || c.OAuth.TokenCacheTTLOrDefault() != tc.want {
			t.Errorf("%q: tokenCacheTTL %v, want %s", tc.yaml, c.OAuth.TokenCacheTTL, tc.want)
		}
	}
}

// TestExampleFile keeps the documented example loadable.
func ptr[T any](v T) *T { return &v }

// TestPageCacheBytes: unset stays unset (clr-server sizes the cache from
// the container's memory limit), an explicit 0 (off) or size is kept.
func TestPageCacheBytes(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want *int64
	}{
		{"", nil},
		{"  pageCacheBytes: 0\n", ptr(int64(0))},
		{"  pageCacheBytes: 33554432\n", ptr(int64(32 << 20))},
		{"  pageCacheBytes: 4294967296\n", ptr(int64(MaxPageCacheBytes))},
	} {
		doc := strings.Replace(validYAML, "  readTimeout: 45s\n", "  readTimeout: 45s\n"+tc.yaml, 1)
		c, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
		}
		got := c.Server.PageCacheBytes
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%q: pageCacheBytes %v, want %v", tc.yaml, deref(got), deref(tc.want))
		}
	}
}

func deref(p *int64) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func TestExampleFile(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "clr-server.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Driver != StoragePostgres || c.Issuers[0].Signing.KeyringFile == "" || c.OAuth.RefreshTokenTTL.Duration != 720*time.Hour {
		t.Fatalf("example parsed as %+v", c)
	}
}

func TestAuthorityParsedAndPublishedAsIdentifier(t *testing.T) {
	c, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Issuers[0].Authority
	if len(a) != 2 || a[0].Name != "Northwest Commission on Colleges and Universities" || a[0].Identifier != "NWCCU-0042" || a[1].URL != "" {
		t.Fatalf("authority not parsed: %+v", a)
	}
	// The URL, where the accreditation can be checked, wins over the
	// number; without a URL the number is published.
	for i, want := range []string{"https://nwccu.org/institutions/state-u", "charter 1890-17"} {
		e, ok := a[i].ProfileIdentifier()
		if !ok || e["identifier"] != want || e["identifierType"] != AuthorityIdentifierType || e["type"] != "IdentifierEntry" {
			t.Errorf("authority[%d] entry %v %v, want identifier %q", i, e, ok, want)
		}
	}
	if e, ok := (Authority{Name: "Only a name"}).ProfileIdentifier(); ok {
		t.Errorf("an authority with neither URL nor identifier gave an entry: %v", e)
	}
}
