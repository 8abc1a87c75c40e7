package pgtest

import (
	"fmt"
	"os"
	"testing"
)

// Main is a test package's TestMain body: it starts one PostgreSQL server
// for the package, stores it in *srv, runs the tests and stops the server.
// A server that cannot start fails the package (it does not skip: the
// PostgreSQL store is part of what is tested); so does one that cannot be
// stopped cleanly after passing tests.
func Main(m *testing.M, srv **Server) {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting PostgreSQL:", err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping PostgreSQL:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
