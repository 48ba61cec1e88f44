package broadcaster_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/broadcaster/broadcaster/internal/config"
)

// The README's configuration table must name every key the code knows, with
// its default and environment variables, and nothing else. (config.yaml is
// held to the same list by internal/config's tests.)
func TestREADMEConfigurationTableMatchesCode(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\| ([a-z_]+\.[a-z_]+) \| ([^|]*) \| ([^|]*) \|`)
	documented := map[string][2]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = [2]string{strings.TrimSpace(m[2]), m[3]}
	}
	var keys []string
	for _, k := range config.Keys() {
		keys = append(keys, k.Path)
		doc, ok := documented[k.Path]
		if !ok {
			t.Errorf("README: configuration table lacks %s", k.Path)
			continue
		}
		if got := strings.Trim(doc[0], `"[]`); got != k.Default {
			t.Errorf("README: %s default %s, code says %q", k.Path, doc[0], k.Default)
		}
		for _, env := range k.Env {
			if !strings.Contains(doc[1], "`"+env+"`") {
				t.Errorf("README: %s does not name its variable %s", k.Path, env)
			}
		}
	}
	for path := range documented {
		if !slices.Contains(keys, path) {
			t.Errorf("README documents %s, which the code does not know", path)
		}
	}
}

func TestREADMEQuickStart(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"make demo", "make test"} {
		if !strings.Contains(string(readme), cmd) {
			t.Errorf("README lacks %q", cmd)
		}
	}
}
