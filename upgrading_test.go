package broadcaster_test

import (
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	broadcaster "github.com/broadcaster/broadcaster"
)

// The README's "Upgrading" section shows `migrate --status` as the binary
// prints it: the same header, and a line for the first migration.
func TestREADMEUpgradingMatchesMigrations(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?s)## Upgrading\n(.*?)\n## ").FindSubmatch(readme)
	if section == nil {
		t.Fatal("README has no Upgrading section")
	}
	example := regexp.MustCompile("(?s)```text\n(.*?)```").FindSubmatch(section[1])
	if example == nil {
		t.Fatal("the Upgrading section shows no `migrate --status` output")
	}
	lines := strings.Split(strings.TrimSpace(string(example[1])), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "VERSION MIGRATION STATE APPLIED AT" {
		t.Errorf("example header %q differs from what migrate --status prints", lines[0])
	}
	names, err := fs.Glob(broadcaster.MigrationFiles, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v, %v", names, err)
	}
	if f := strings.Fields(lines[1]); len(f) < 3 || f[0] != "1" || f[1] != path.Base(names[0]) || f[2] != "applied" {
		t.Errorf("example line %q does not show migration 1 (%s) applied", lines[1], path.Base(names[0]))
	}
	if !strings.Contains(string(section[1]), "-- broadcaster:breaks-older-binaries") {
		t.Error("the Upgrading section does not name the marker that makes older binaries refuse a database")
	}
}
