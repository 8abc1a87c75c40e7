package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/learnerrecords/clr-operator/internal/buildinfo"
)

func init() {
	register("version", "prints the build's version, source revision and Go version", runVersion)
}

func runVersion(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clr-server version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "clr-server version: no arguments expected")
		return 2
	}
	i := buildinfo.Get()
	if *asJSON {
		b, _ := json.Marshal(i)
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	fmt.Fprintln(stdout, "clr-server", i)
	return 0
}
