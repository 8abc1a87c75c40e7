package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/credential/verify"
)

// shared finds ../shared/clr from the repository root.
func shared() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "clr")
		}
		dir = filepath.Dir(dir)
	}
}

// Example shows how a server embeds the verifier: one canonicalizer shared
// by all requests (it caches processed contexts), and a resolver that
// answers for the host's own DIDs from memory (Local) and refuses to
// connect to private addresses for everything else (a public verification
// endpoint must not be usable to probe the host's network).
func Example() {
	loader := jsonld.NewLoader(filepath.Join(shared(), "contexts"))
	canon := dataintegrity.NewCanonicalizer(loader, dataintegrity.DefaultLimits)
	ownDIDs := map[string][]byte{} // DID or URL → document, filled from the host's keyring
	v, err := verify.New(verify.Options{
		Loader:        loader,
		Canonicalizer: canon,
		Resolver: &resolve.Resolver{
			BlockPrivateNetworks: true,
			Offline:              true, // this example runs without a network
			Local: func(_ context.Context, key string) ([]byte, bool) {
				doc, ok := ownDIDs[key]
				return doc, ok
			},
		},
		Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	input, err := os.ReadFile(filepath.Join(shared(), "examples/clr20/simple.json"))
	if err != nil {
		panic(err)
	}
	rep := v.Verify(context.Background(), input)
	fmt.Println(rep.Verified, len(rep.Credentials), rep.Codes())
	// Output: true 2 [KEY_NOT_BOUND KEY_NOT_BOUND]
}
