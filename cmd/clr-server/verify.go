package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/credential/verify"
)

func init() {
	register("verify", "verify a credential (JSON or VC-JWT) and print a JSON report", runVerify)
}

// Exit codes of verify (and of the other credential commands).
const (
	exitOK       = 0
	exitNotValid = 1
	exitUsage    = 2
)

// maxInput bounds what verify reads; the verifier's own limit (2 MiB by
// default) reports anything above it as TOO_LARGE, so read a little more.
const maxInput = verify.DefaultMaxBytes + 1

// resourceFlags collects repeated --resource URL=FILE flags.
type resourceFlags map[string]string

func (r resourceFlags) String() string { return fmt.Sprint(map[string]string(r)) }

func (r resourceFlags) Set(v string) error {
	u, file, ok := strings.Cut(v, "=")
	if !ok || u == "" || file == "" {
		return fmt.Errorf("want URL=FILE, got %q", v)
	}
	if strings.Contains(u, "#") {
		return fmt.Errorf("resource URL %q must not have a fragment", u)
	}
	r[u] = file
	return nil
}

func runVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	contexts := fs.String("contexts", "", "directory of pinned JSON-LD contexts (default ./contexts, then next to the binary)")
	offline := fs.Bool("offline", false, "never use the network: keys only from did:key, fragments and --resource")
	nowFlag := fs.String("now", "", "judge validity at this RFC 3339 instant instead of the current time")
	timeout := fs.Duration("timeout", 30*time.Second, "overall time limit")
	unknownWarn := fs.Bool("status-unknown-is-warning", false, "report an unknown credential status as a warning instead of a failure")
	statusSet := fs.Bool("allow-status-set", false, "accept a credentialStatus array (VC 2.0; the OB 3.0 / CLR 2.0 schemas allow one entry) with a warning")
	resources := resourceFlags{}
	fs.Var(resources, "resource", "serve URL from a local FILE (status list, DID document, key document, JWKS); repeatable: --resource URL=FILE")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: clr-server verify [--contexts DIR] [--offline] [--now RFC3339] [--resource URL=FILE ...] FILE|-")
		fmt.Fprintln(stderr, "\nPrints a JSON report. Exit status: 0 verified, 1 not verified, 2 bad usage or unreadable input.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "clr-server verify: exactly one FILE (or - for standard input) is required")
		fs.Usage()
		return exitUsage
	}
	var now time.Time
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "clr-server verify: --now %q is not an RFC 3339 date-time\n", *nowFlag)
			return exitUsage
		}
		now = t
	}
	dir, err := contextsDir(*contexts)
	if err != nil {
		fmt.Fprintln(stderr, "clr-server verify:", err)
		return exitUsage
	}
	overrides := make(map[string][]byte, len(resources))
	for u, file := range resources {
		b, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "clr-server verify: --resource %s: %v\n", u, err)
			return exitUsage
		}
		overrides[u] = b
	}
	input, err := readInput(fs.Arg(0), stdin, maxInput)
	if err != nil {
		fmt.Fprintln(stderr, "clr-server verify:", err)
		return exitUsage
	}
	v, err := verify.New(verify.Options{
		Loader:                 jsonld.NewLoader(dir),
		Resolver:               &resolve.Resolver{Offline: *offline, Resources: overrides},
		Now:                    now,
		StatusUnknownIsWarning: *unknownWarn,
		AllowStatusSet:         *statusSet,
	})
	if err != nil {
		fmt.Fprintln(stderr, "clr-server verify:", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	report := v.Verify(ctx, input)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		fmt.Fprintln(stderr, "clr-server verify: write report:", err)
		return exitUsage
	}
	if !report.Verified {
		return exitNotValid
	}
	return exitOK
}

// contextsDir picks the contexts directory: the flag, else ./contexts, else
// "contexts" next to the binary (where the image puts it).
func contextsDir(flagValue string) (string, error) {
	isDir := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.IsDir()
	}
	if flagValue != "" {
		if !isDir(flagValue) {
			return "", fmt.Errorf("--contexts %s is not a directory", flagValue)
		}
		return flagValue, nil
	}
	if isDir("contexts") {
		return "contexts", nil
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "contexts"); isDir(p) {
			return p, nil
		}
	}
	return "", errors.New("no JSON-LD contexts directory: pass --contexts DIR (none at ./contexts or next to the binary; `clr-server contexts` fetches them)")
}

// readInput reads FILE or standard input ("-"), at most limit bytes (the
// caller's limit check sees anything longer as too large).
func readInput(name string, stdin io.Reader, limit int64) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}
