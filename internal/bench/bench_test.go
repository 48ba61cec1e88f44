package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

func TestFairnessOf(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	paced := func(wid string, offset, gap time.Duration) []sendertest.Arrival {
		var out []sendertest.Arrival
		for i := range fairSends {
			out = append(out, sendertest.Arrival{At: t0.Add(offset + time.Duration(i)*gap), WID: wid})
		}
		return out
	}
	tests := []struct {
		name     string
		arrivals []sendertest.Arrival
		accounts int
		want     fairStats
		wantErr  bool
	}{
		{
			name:     "two accounts on pace",
			arrivals: append(paced("a", 0, 500*time.Millisecond), paced("b", time.Second, 500*time.Millisecond)...),
			accounts: 2,
			want:     fairStats{p50: 9500 * time.Millisecond, max: 10500 * time.Millisecond},
		},
		{
			name:     "one account too fast",
			arrivals: append(paced("a", 0, 500*time.Millisecond), paced("b", 0, 400*time.Millisecond)...),
			accounts: 2,
			want:     fairStats{p50: 7600 * time.Millisecond, max: 9500 * time.Millisecond, close: fairSends - 1},
		},
		{
			name:     "an account missing",
			arrivals: paced("a", 0, 500*time.Millisecond),
			accounts: 2,
			wantErr:  true,
		},
		{
			name:     "an account short of sends",
			arrivals: append(paced("a", 0, 500*time.Millisecond), sendertest.Arrival{At: t0, WID: "b"}),
			accounts: 2,
			wantErr:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fairnessOf(tt.arrivals, tt.accounts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseSettingsAndScale(t *testing.T) {
	got, err := ParseSettings(" fsync=on, synchronous_commit = on ,")
	if err != nil || len(got) != 2 || got["fsync"] != "on" || got["synchronous_commit"] != "on" {
		t.Errorf("ParseSettings = %v, %v", got, err)
	}
	if _, err := ParseSettings("fsync"); err == nil {
		t.Error("a setting without a value was accepted")
	}
	for in, want := range map[string]float64{"": 1, "0.1": 0.1, "2": 2} {
		if got, err := ParseScale(in); err != nil || got != want {
			t.Errorf("ParseScale(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "x", "NaN", "Inf"} {
		if _, err := ParseScale(in); err == nil {
			t.Errorf("ParseScale(%q) accepted", in)
		}
	}
}

func TestScaledKeepsAFloor(t *testing.T) {
	o := Options{Scale: 0.001}
	if got := o.scaled(30_000, 1_000); got != 1_000 {
		t.Errorf("scaled = %d, want the floor 1,000", got)
	}
	o.Scale = 0.5
	if got := o.scaled(30_000, 1_000); got != 15_000 {
		t.Errorf("scaled = %d, want 15,000", got)
	}
}

func TestWriteTableKeepsCellsOnOneLine(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, []Row{{Scenario: "a|b", Figure: "one\ntwo", Target: "≥ 1", Holds: holdsYes}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], "a/b") || !strings.Contains(lines[2], "one two") {
		t.Errorf("table:\n%s", buf.String())
	}
}

func TestBareLoopSendsEachRequestOnce(t *testing.T) {
	api, err := sendertest.Start(sendertest.Config{Token: token, Cheap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	body, err := requestBody("<appmsg><title>t</title></appmsg>", "wxid_bare")
	if err != nil {
		t.Fatal(err)
	}
	if err := BareLoop(t.Context(), api.URL()+sendertest.Path, token, body, 50, 4); err != nil {
		t.Fatalf("BareLoop: %v", err)
	}
	if st := api.Stats(); st.Sent != 50 || st.Requests != 50 {
		t.Errorf("API stats %+v, want 50 requests, all sent", st)
	}
	if err := BareLoop(t.Context(), api.URL()+sendertest.Path, "wrong", body, 5, 2); err == nil {
		t.Error("BareLoop with the wrong token reported no error")
	}
}

// treeCPU counts what the process spends: burn CPU until getrusage has
// seen 100 ms more, and /proc must have seen at least most of it (its unit
// is 10 ms).
func TestTreeCPUCountsTheProcess(t *testing.T) {
	before, err := treeCPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	self := selfCPU()
	x := 0
	for selfCPU()-self < 100*time.Millisecond {
		for i := range 1_000_000 {
			x += i
		}
	}
	after, err := treeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 50*time.Millisecond {
		t.Errorf("treeCPU grew %v while the process spent over 100ms (%d)", after-before, x)
	}
	if _, err := treeCPU(1 << 30); err == nil {
		t.Error("treeCPU of no process reported no error")
	}
}
