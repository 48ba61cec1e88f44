package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The harness measures the real binary end to end: the smallest throughput
// scenario (bare loop, broadcaster, then River from its own module) gives
// every row, none an error.
// Nothing is asserted about the figures themselves: `make bench` is where
// they are read.
func TestRunThroughputSmallest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and starts a PostgreSQL server")
	}
	dir := t.TempDir()
	binaries := map[string]string{"broadcaster": "../../cmd/broadcaster", "benchtable": "../../cmd/benchtable"}
	for name, pkg := range binaries {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	// bench/river is a module of its own: built from its directory.
	river := exec.Command("go", "build", "-o", filepath.Join(dir, "river-bench"), ".")
	river.Dir = "../../bench/river"
	if out, err := river.CombinedOutput(); err != nil {
		t.Fatalf("build bench/river: %v\n%s", err, out)
	}
	appMsg, err := os.ReadFile("../../testdata/provider/seed-appmsg.xml")
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	rows, failed, err := Run(t.Context(), Options{
		Binary: filepath.Join(dir, "broadcaster"),
		Self:   filepath.Join(dir, "benchtable"),
		River:  filepath.Join(dir, "river-bench"),
		AppMsg: strings.TrimRight(string(appMsg), "\n"),
		Scale:  0.001,
		Only:   regexp.MustCompile(`^throughput$`),
		Logs:   &logs,
	})
	if err != nil || failed != 0 {
		t.Fatalf("Run: %v, %d failed; rows %+v\nlogs:\n%s", err, failed, rows, logs.String())
	}
	if len(rows) != 7 || !strings.HasPrefix(rows[6].Scenario, "River") {
		t.Errorf("%d rows, want 6 and River's: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.Holds == holdsError || r.Figure == "" {
			t.Errorf("row %+v", r)
		}
	}
}
