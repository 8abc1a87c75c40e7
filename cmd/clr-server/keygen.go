package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

func init() {
	register("keygen", "generate a signing key as a PKCS#8 PEM file, as cert-manager writes tls.key", runKeygen)
}

func runKeygen(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := fs.String("algorithm", keys.Ed25519, "Ed25519, ECDSA-P256, ECDSA-P384, RSA-2048 or RSA-3072")
	out := fs.String("out", "", "write the key to this new file (mode 0600; never overwritten) instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: clr-server keygen --algorithm Ed25519|ECDSA-P256|ECDSA-P384|RSA-2048|RSA-3072 [--out FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "clr-server keygen: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	switch *alg {
	case keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384, keys.RSA2048, keys.RSA3072:
	default:
		fmt.Fprintf(stderr, "clr-server keygen: --algorithm %q: want Ed25519, ECDSA-P256, ECDSA-P384, RSA-2048 or RSA-3072\n", *alg)
		return exitUsage
	}
	key, err := keys.Generate(*alg)
	if err != nil {
		fmt.Fprintln(stderr, "clr-server keygen:", err)
		return exitUsage
	}
	pemBytes, err := keys.MarshalPrivateKeyPEM(key)
	if err != nil {
		fmt.Fprintln(stderr, "clr-server keygen:", err)
		return exitUsage
	}
	if *out == "" {
		if _, err := stdout.Write(pemBytes); err != nil {
			fmt.Fprintln(stderr, "clr-server keygen:", err)
			return exitUsage
		}
		return exitOK
	}
	// O_EXCL: replacing an existing key by accident would make every
	// credential signed with it unverifiable once its DID document changes.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintln(stderr, "clr-server keygen:", err)
		return exitUsage
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		os.Remove(*out)
		fmt.Fprintln(stderr, "clr-server keygen:", err)
		return exitUsage
	}
	if err := f.Close(); err != nil {
		os.Remove(*out)
		fmt.Fprintln(stderr, "clr-server keygen:", err)
		return exitUsage
	}
	return exitOK
}
