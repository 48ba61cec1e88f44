package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// The README's trial: `simulate` as the API, `run --once` against it.
func TestSimulateServesRunOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sim := exec.CommandContext(ctx, binaryPath, "simulate", "--listen", "127.0.0.1:0", "--token", "test",
		"--fail-rate", "0.3", "--latency", "1ms", "--latency-jitter", "1ms", "--seed", "7")
	sim.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatal("simulate printed nothing")
	}
	m := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)/sendApplet`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("simulate's first line names no address: %q", lines.Text())
	}

	env, _, conn := daemonEnv(t, sendertest.Config{}) // its own fake API goes unused
	env["BROADCASTER_API_BASE_URL"] = m[1]
	env["BROADCASTER_API_TOKEN"] = "test"
	env["BROADCASTER_RETRY_BACKOFF"] = "1ms"
	env["BROADCASTER_RETRY_MAX_ATTEMPTS"] = "20"
	insertCampaign(t, conn, "trial", 30)
	if r := broadcaster(t, env, "run", "--once"); r.code != 0 {
		t.Fatalf("run --once against simulate: %s", r)
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sent'`); n != 30 {
		t.Errorf("sent %d of 30", n)
	}
	if n := count(t, conn, `SELECT count(*) FROM delivery_attempts WHERE code = '1001'`); n == 0 {
		t.Error("a 30% fail rate produced no 1001 answers")
	}

	if err := sim.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text())
	}
	if err := sim.Wait(); err != nil {
		t.Fatalf("simulate after Ctrl-C: %v", err)
	}
	if !strings.Contains(rest.String(), "sent 30") {
		t.Errorf("simulate's closing line: %q", rest.String())
	}
}
