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
	// bench/river is a module of its own, built from its directory. As
	// under make bench, River is left out only where its modules cannot be
	// downloaded; once they are here, it must build.
	river, want := filepath.Join(dir, "river-bench"), 7
	download := exec.Command("go", "mod", "download")
	download.Dir = "../../bench/river"
	if out, err := download.CombinedOutput(); err != nil {
		t.Logf("bench/river's modules could not be downloaded; River left out: %v\n%s", err, out)
		river, want = "", 6
	} else {
		build := exec.Command("go", "build", "-o", river, ".")
		build.Dir = "../../bench/river"
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build bench/river: %v\n%s", err, out)
		}
	}
	appMsg, err := os.ReadFile("../../testdata/provider/seed-appmsg.xml")
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	rows, failed, err := Run(t.Context(), Options{
		Binary: filepath.Join(dir, "broadcaster"),
		Self:   filepath.Join(dir, "benchtable"),
		River:  river,
		AppMsg: strings.TrimRight(string(appMsg), "\n"),
		Scale:  0.001,
		Only:   regexp.MustCompile(`^throughput$`),
		Logs:   &logs,
	})
	if err != nil || failed != 0 {
		t.Fatalf("Run: %v, %d failed; rows %+v\nlogs:\n%s", err, failed, rows, logs.String())
	}
	if len(rows) != want || (want == 7 && !strings.HasPrefix(rows[6].Scenario, "River")) {
		t.Errorf("%d rows, want %d (the last one River's, when it ran): %+v", len(rows), want, rows)
	}
	for _, r := range rows {
		if r.Holds == holdsError || r.Figure == "" {
			t.Errorf("row %+v", r)
		}
	}
}
