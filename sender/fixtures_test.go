package sender

import (
	"os"
	"path/filepath"
	"testing"
)

// fixtureDir holds the provider's examples, copied verbatim into the
// repository (testdata/provider), so a fresh clone tests on its own.
const fixtureDir = "../testdata/provider"

// readFixture returns a fixture's bytes. A missing fixture fails the test:
// skipping would let the parser drift from the provider's real answers.
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Fatalf("fixture %s: %v", name, err)
	}
	return b
}
