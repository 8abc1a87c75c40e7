package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/signing"
)

// Development defaults (clr-server serve --dev).
const (
	DevListen        = "127.0.0.1:8080"
	DevMetricsListen = "127.0.0.1:9090"
	DevDataDir       = "clr-data"
	DevIssuer        = "dev-university"
	DevFramework     = "transformative-learning"
	DevRegistrar     = "dev-registrar"
)

// DevSetup prepares dataDir for development mode and returns the
// configuration and secrets: a generated Ed25519 signing key (as a
// kubernetes.io/tls Secret would hold it), generated internal secrets, a
// sample issuer and the sample framework, SQLite under dataDir. Files
// already there are reused, so learners, clients and keys survive restarts.
func DevSetup(dataDir, listen, metricsListen string) (*serverconfig.Config, *serverconfig.InternalSecrets, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data dir: %w", err)
	}
	keyDir := filepath.Join(dataDir, "keys", DevIssuer)
	if err := ensureDevKey(keyDir); err != nil {
		return nil, nil, err
	}
	secretsFile := filepath.Join(dataDir, "secrets.json")
	secrets, err := ensureDevSecrets(secretsFile)
	if err != nil {
		return nil, nil, err
	}
	fwFile := filepath.Join(dataDir, "frameworks", DevFramework+".json")
	if err := writeJSON(fwFile, SampleFramework(), 0o644); err != nil {
		return nil, nil, err
	}
	cfg := &serverconfig.Config{
		APIVersion: serverconfig.APIVersion,
		Dev:        true,
		Server: serverconfig.Server{
			Listen:        listen,
			MetricsListen: metricsListen,
			DataDir:       dataDir,
		},
		Storage: serverconfig.Storage{Driver: serverconfig.StorageSQLite, SQLitePath: filepath.Join(dataDir, "clr.db")},
		Issuers: []serverconfig.Issuer{{
			Name: DevIssuer,
			Profile: map[string]any{
				"type":        []any{"Profile"},
				"name":        "Development University",
				"url":         "https://university.example",
				"email":       "registrar@university.example",
				"description": "A sample institution of clr-server's development mode.",
			},
			Signing: serverconfig.Signing{
				Algorithm:    keys.Ed25519,
				KeyDir:       keyDir,
				ProofFormats: []string{serverconfig.ProofVCJWT, serverconfig.ProofDataIntegrity},
			},
		}},
		Frameworks:  []serverconfig.FrameworkRef{{Name: DevFramework, File: fwFile}},
		OAuth:       serverconfig.OAuth{DynamicRegistration: true, IssuingClients: []serverconfig.IssuingClient{{ClientID: DevRegistrar, Scopes: oauth.IssuingScopes}}},
		SecretsFile: secretsFile,
	}
	return cfg, secrets, nil
}

func ensureDevKey(keyDir string) error {
	path := filepath.Join(keyDir, signing.KeyFile)
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dev signing key: %w", err)
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return fmt.Errorf("dev signing key: %w", err)
	}
	k, err := keys.Generate(keys.Ed25519)
	if err != nil {
		return fmt.Errorf("dev signing key: %w", err)
	}
	pemBytes, err := keys.MarshalPrivateKeyPEM(k)
	if err != nil {
		return fmt.Errorf("dev signing key: %w", err)
	}
	return writeFileAtomic(path, pemBytes, 0o600)
}

func ensureDevSecrets(path string) (*serverconfig.InternalSecrets, error) {
	if _, err := os.Stat(path); err == nil {
		return serverconfig.LoadSecrets(path)
	}
	rnd := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	s := &serverconfig.InternalSecrets{
		SessionKey: rnd(), TokenPepper: rnd(), ShareLinkKey: rnd(),
		ClientSecrets: map[string]string{DevRegistrar: base64.RawURLEncoding.EncodeToString([]byte(rnd()))[:32]},
	}
	if err := writeJSON(path, s, 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

func writeJSON(path string, v any, mode os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), mode)
}

// writeFileAtomic writes via a temporary file and rename, so a crash never
// leaves a half-written key or secrets file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// SampleFramework is the development framework: a transformative-learning
// framework with three levels and six competencies.
func SampleFramework() serverconfig.Framework {
	comp := func(id, code, name, desc string) serverconfig.Competency {
		return serverconfig.Competency{ID: id, HumanCode: code, Name: name, Description: desc, Type: "Competency"}
	}
	return serverconfig.Framework{
		Name:        DevFramework,
		Title:       "Transformative Learning Framework",
		Description: "Essential learning outcomes assessed across courses and co-curricular experiences, at three levels of depth.",
		Version:     "1.0",
		Creator:     "Development University",
		Levels: []serverconfig.FrameworkLevel{
			{ID: "exposure", Name: "Exposure", Description: "The learner has encountered the outcome and practised it with guidance."},
			{ID: "integration", Name: "Integration", Description: "The learner applies the outcome independently and connects it across contexts."},
			{ID: "transformation", Name: "Transformation", Description: "The learner extends the outcome to new, complex situations and leads others in it."},
		},
		Competencies: []serverconfig.Competency{
			comp("critical-thinking", "CT", "Critical Thinking", "Comprehensive exploration of issues, ideas and evidence before accepting or formulating a conclusion."),
			comp("written-communication", "WC", "Written Communication", "Developing and expressing ideas in writing for varied audiences and purposes."),
			comp("oral-communication", "OC", "Oral Communication", "Prepared, purposeful presentation designed to increase knowledge, foster understanding or change attitudes."),
			comp("information-literacy", "IL", "Information Literacy", "Identifying, locating, evaluating and responsibly using information for the issue at hand."),
			comp("integrative-learning", "ITL", "Integrative Learning", "Making connections among ideas and experiences and transferring learning to new situations."),
			comp("inquiry-analysis", "IA", "Inquiry & Analysis", "Exploring issues through the collection and analysis of evidence to reach informed conclusions."),
		},
	}
}
