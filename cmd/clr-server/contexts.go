package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
)

func init() {
	register("contexts", "fetch or verify the pinned JSON-LD contexts (contexts fetch|verify --dir DIR)", runContexts)
}

// newContextsFetcher is replaced by tests to point at a local TLS server.
var newContextsFetcher = func() *jsonld.Fetcher { return &jsonld.Fetcher{} }

func runContexts(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "Usage: clr-server contexts fetch --dir DIR   download the standard contexts from their canonical URLs and check their pins")
		fmt.Fprintln(stderr, "       clr-server contexts verify --dir DIR  check the files in DIR against the pins")
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("contexts "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "contexts directory (required)")
	switch sub {
	case "fetch", "verify":
	case "-h", "--help", "help":
		usage()
		return 0
	default:
		fmt.Fprintf(stderr, "clr-server contexts: unknown subcommand %q\n", sub)
		usage()
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "clr-server contexts: --dir is required and no arguments are accepted")
		return 2
	}

	var results []jsonld.FetchResult
	if sub == "fetch" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		results, _ = newContextsFetcher().Fetch(ctx, *dir, jsonld.StandardPins)
	} else {
		results = jsonld.VerifyDir(*dir, jsonld.StandardPins)
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stderr, "FAIL %s: %v\n", r.Pin.URL, r.Err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %s -> %s sha256:%s\n", r.Pin.URL, r.Pin.File, r.Pin.SHA256)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "clr-server contexts %s: %d of %d contexts failed\n", sub, failed, len(results))
		return 1
	}
	return 0
}
