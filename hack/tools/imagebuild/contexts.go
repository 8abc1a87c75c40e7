package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The pins live in the main module's internal/credential/jsonld, which this
// module cannot import: clr-server's own `contexts verify` (built for the
// build machine from the same source as the image's binary) is the check,
// and its "ok" lines name the pinned files and digests.

// resolveContexts returns a directory of the pinned contexts, like
// `make local-up` finds them: -contexts when given; else the CLR reference
// data beside the repository (../shared/clr/contexts) when it verifies;
// else the cache .cache/clr-contexts, fetched from the canonical URLs by
// `clr-server contexts fetch` (which checks every pin) when it does not
// verify yet.
func resolveContexts(root, flagDir, hostServer string) (string, error) {
	if flagDir != "" {
		return flagDir, nil
	}
	verifies := func(dir string) bool {
		return exec.Command(hostServer, "contexts", "verify", "--dir", dir).Run() == nil
	}
	shared := filepath.Clean(filepath.Join(root, "..", "shared", "clr", "contexts"))
	if verifies(shared) {
		return shared, nil
	}
	cache := filepath.Join(root, ".cache", "clr-contexts")
	if verifies(cache) {
		return cache, nil
	}
	logf("fetching the pinned JSON-LD contexts into %s", cache)
	if out, err := exec.Command(hostServer, "contexts", "fetch", "--dir", cache).CombinedOutput(); err != nil {
		return "", fmt.Errorf("clr-server contexts fetch: %w\n%s", err, out)
	}
	return cache, nil
}

// pinnedFile is one "ok" line of `clr-server contexts verify`.
type pinnedFile struct {
	URL, File, SHA256 string
}

// verifyContexts runs `clr-server contexts verify --dir dir` and returns
// the pinned files it checked; any failing pin fails the build.
func verifyContexts(hostServer, dir string) ([]pinnedFile, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(hostServer, "contexts", "verify", "--dir", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("clr-server contexts verify --dir %s: %w\n%s", dir, err, stderr.Bytes())
	}
	var pins []pinnedFile
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		// ok   URL -> FILE sha256:HEX
		f := strings.Fields(line)
		if len(f) != 5 || f[0] != "ok" || f[2] != "->" || !strings.HasPrefix(f[4], "sha256:") ||
			filepath.Base(f[3]) != f[3] {
			return nil, fmt.Errorf("clr-server contexts verify: unexpected output line %q", line)
		}
		pins = append(pins, pinnedFile{URL: f[1], File: f[3], SHA256: strings.TrimPrefix(f[4], "sha256:")})
	}
	if len(pins) == 0 {
		return nil, fmt.Errorf("clr-server contexts verify --dir %s: no pinned context listed", dir)
	}
	return pins, nil
}

// stageContexts copies exactly the pinned files of src into stage (other
// files of src, such as the reference data's extra copies, stay out),
// checks each copy's digest against its pin and has clr-server verify the
// staged directory: what goes into the image is what the pins name.
func stageContexts(hostServer, src, stage string) ([]file, error) {
	pins, err := verifyContexts(hostServer, src)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, err
	}
	var files []file
	for _, p := range pins {
		data, err := os.ReadFile(filepath.Join(src, p.File))
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", p.URL, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != p.SHA256 {
			return nil, fmt.Errorf("context %s: %s has sha256 %s, pinned %s", p.URL, p.File, got, p.SHA256)
		}
		dst := filepath.Join(stage, p.File)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return nil, err
		}
		files = append(files, file{Path: strings.TrimPrefix(contextsPath, "/") + "/" + p.File, Source: dst, Mode: 0o644})
	}
	if _, err := verifyContexts(hostServer, stage); err != nil {
		return nil, fmt.Errorf("staged contexts: %w", err)
	}
	return files, nil
}
