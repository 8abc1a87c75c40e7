package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/jose"
	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
)

func init() {
	register("sign", "sign a credential with a PEM key (Data Integrity or VC-JWT) and print it", runSign)
}

func runSign(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "PEM private key (tls.key of a kubernetes.io/tls Secret)")
	format := fs.String("format", "di", "proof format: di (Data Integrity) or jwt (VC-JWT)")
	vm := fs.String("verification-method", "", "verification method URL / JWS kid (default: the key's did:key)")
	suite := fs.String("cryptosuite", "", "Data Integrity cryptosuite; must fit the key (eddsa-rdfc-2022 for Ed25519, ecdsa-rdfc-2019 for P-256/P-384)")
	contexts := fs.String("contexts", "", "directory of pinned JSON-LD contexts (di only; default ./contexts, then next to the binary)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: clr-server sign --key tls.key --format di|jwt [--verification-method URL] [--cryptosuite NAME] FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "clr-server sign: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() != 1 {
		return fail("exactly one FILE (or - for standard input) is required")
	}
	if *keyFile == "" {
		return fail("--key is required")
	}
	if *format != "di" && *format != "jwt" {
		return fail("--format %q: want di or jwt", *format)
	}
	if *suite != "" && *format != "di" {
		return fail("--cryptosuite applies to --format di only")
	}
	pemBytes, err := os.ReadFile(*keyFile)
	if err != nil {
		return fail("%v", err)
	}
	signer, err := keys.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		// The error describes the encoding, never the key material.
		return fail("--key %s: %v", *keyFile, err)
	}
	method := *vm
	if method == "" {
		did, err := resolve.DIDKey(signer.Public())
		if err != nil {
			return fail("no did:key for this key (%v): pass --verification-method", err)
		}
		method = did + "#" + strings.TrimPrefix(did, "did:key:")
	}
	input, err := readInput(fs.Arg(0), stdin, maxInput)
	if err != nil {
		return fail("%v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(input, &doc); err != nil || doc == nil {
		return fail("%s is not a JSON credential object", fs.Arg(0))
	}
	if *format == "jwt" {
		s, err := jose.NewSigner(signer, method)
		if err != nil {
			return fail("%v", err)
		}
		token, err := s.SignJSON(input)
		if err != nil {
			return fail("%v", err)
		}
		fmt.Fprintln(stdout, token)
		return exitOK
	}
	want, err := dataintegrity.CryptosuiteFor(signer.Public())
	if err != nil {
		return fail("%v", err)
	}
	if *suite != "" && *suite != want {
		return fail("--cryptosuite %s does not fit this key (use %s)", *suite, want)
	}
	dir, err := contextsDir(*contexts)
	if err != nil {
		return fail("%v", err)
	}
	limits := dataintegrity.DefaultLimits
	di := dataintegrity.New(dataintegrity.NewCanonicalizer(jsonld.NewLoader(dir), limits))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	signed, err := di.Sign(ctx, doc, signer, dataintegrity.SignOptions{VerificationMethod: method})
	if err != nil {
		return fail("%v", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(signed); err != nil {
		return fail("%v", err)
	}
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		return fail("%v", err)
	}
	return exitOK
}
