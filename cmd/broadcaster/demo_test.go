package main

import (
	"strings"
	"testing"

	"github.com/broadcaster/broadcaster/internal/dbtest"
)

func TestDemoWithAThrowawayDatabase(t *testing.T) {
	r := broadcaster(t, nil, "demo", "--recipients", "60")
	if r.code != 0 {
		t.Fatalf("demo: %s", r)
	}
	for _, want := range []string{
		"starting a throwaway PostgreSQL",
		"simulated sendApplet API",
		"run 1 created: 72 deliveries, 3 skipped",
		"progress:", // stdout is not a terminal here: plain progress lines
		"Report (broadcaster report --campaign 1 )",
		"run_id  campaign_id  campaign_name",
		"completed",
		"FROM campaign_run_summary",
		"done in",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestDemoUsesDATABASEURL(t *testing.T) {
	r := broadcaster(t, map[string]string{"DATABASE_URL": dbtest.NewURL(t)}, "demo", "--recipients", "10")
	if r.code != 0 || !strings.Contains(r.stdout, "using the database at") || strings.Contains(r.stdout, "throwaway") {
		t.Fatalf("demo with DATABASE_URL: %s", r)
	}
}

// Every command's help works and the overview names every command.
func TestHelpNamesEveryCommand(t *testing.T) {
	top := broadcaster(t, nil, "--help")
	for _, c := range commands() {
		if !strings.Contains(top.stdout, "  "+c.name+" ") {
			t.Errorf("broadcaster --help does not list %s", c.name)
		}
		r := broadcaster(t, nil, c.name, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "usage: broadcaster [--config FILE] "+c.name) {
			t.Errorf("%s --help: %s", c.name, r)
		}
	}
}
