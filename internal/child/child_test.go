package child

import (
	"context"
	"strings"
	"testing"
	"time"
)

// sh starts a shell script as the child: it stands in for broadcaster,
// writing JSON log lines to stderr.
func sh(t *testing.T, script string) *Process {
	t.Helper()
	p, err := Start(Spec{Binary: "/bin/sh", Args: []string{"-c", script}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLinesAreReadAndExitCodesReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := sh(t, `echo '{"message":"run created","time":"2026-11-30T01:02:03.004Z"}' >&2
echo 'not json' >&2
echo '{"message":"run created","time":"2026-11-30T01:02:04.000Z"}' >&2
exit 3`)
	if err := p.WaitLog(ctx, "run created", 2); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(ctx)
	if err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v; want 3, nil", code, err)
	}
	want := []time.Time{
		time.Date(2026, 11, 30, 1, 2, 3, 4e6, time.UTC),
		time.Date(2026, 11, 30, 1, 2, 4, 0, time.UTC),
	}
	got := p.Times("run created")
	if len(got) != len(want) || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
		t.Errorf("Times = %v, want %v", got, want)
	}
	err = p.Succeed(ctx)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "not json") {
		t.Errorf("Succeed = %v, want exit status 3 quoting the last lines", err)
	}
	if _, _, err := p.Usage(); err != nil {
		t.Errorf("Usage: %v", err)
	}
}

func TestWaitLogFailsWhenTheChildExitsFirst(t *testing.T) {
	t.Parallel()
	p := sh(t, `echo '{"message":"started"}' >&2`)
	if err := p.WaitLog(context.Background(), "never said", 1); err == nil {
		t.Fatal("WaitLog returned nil for a line never written")
	}
	if err := p.Succeed(context.Background()); err != nil {
		t.Errorf("Succeed: %v", err)
	}
}

func TestStopSendsSIGTERM(t *testing.T) {
	t.Parallel()
	p := sh(t, `trap 'echo "{\"message\":\"stopping\"}" >&2; exit 0' TERM
echo '{"message":"ready"}' >&2
while :; do sleep 0.05; done`)
	ctx := context.Background()
	if err := p.WaitLog(ctx, "ready", 1); err != nil {
		t.Fatal(err)
	}
	code, err := p.Stop(ctx)
	if err != nil || code != 0 {
		t.Fatalf("Stop = %d, %v; want 0, nil", code, err)
	}
	if err := p.WaitLog(ctx, "stopping", 1); err != nil {
		t.Error(err)
	}
}

func TestWaitKillsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	p := sh(t, `echo '{"message":"ready"}' >&2; exec sleep 60`)
	if err := p.WaitLog(context.Background(), "ready", 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Wait(ctx); err == nil {
		t.Fatal("Wait with an ended context returned no error")
	}
	if code, _ := p.Wait(context.Background()); code != -1 {
		t.Errorf("exit code after the kill = %d, want -1 (killed by a signal)", code)
	}
}
