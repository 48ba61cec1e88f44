package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demo --console keeps serving the console on the demo's data, with the
// URL and tokens it prints, until interrupted; then it stops cleanly.
func TestDemoConsole(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binaryPath, "demo", "--console", "--recipients", "30")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var url, write, read string
	urlRE := regexp.MustCompile(`console is open at (http://\S+)/`)
	writeRE, readRE := regexp.MustCompile(`write token: (write-[0-9a-f]+)`), regexp.MustCompile(`read-only token: (read-[0-9a-f]+)`)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && (url == "" || write == "" || read == "") {
		if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
		if m := writeRE.FindStringSubmatch(sc.Text()); m != nil {
			write = m[1]
		}
		if m := readRE.FindStringSubmatch(sc.Text()); m != nil {
			read = m[1]
		}
	}
	if url == "" || write == "" || read == "" {
		t.Fatalf("demo --console printed no URL and tokens (%q %q %q)", url, write, read)
	}
	go func() { // drain the rest, so the demo never blocks on a full pipe
		for sc.Scan() {
		}
	}()
	for _, tt := range []struct {
		path, token string
		want        int
		contains    string
	}{
		{"/api/campaigns", read, http.StatusOK, "demo every minute"},
		{"/api/now", "", http.StatusUnauthorized, ""},
		{"/runs", write, http.StatusOK, "completed"},
	} {
		code, body := get(t, url+tt.path, tt.token)
		if code != tt.want || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s: %d, want %d with %q: %.300s", tt.path, code, tt.want, tt.contains, body)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("demo --console after Ctrl-C: %v", err)
	}
}
