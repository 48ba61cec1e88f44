// Package child runs broadcaster (or any program that logs JSON lines to
// stderr) as a child process and reads its log as it goes: the harnesses of
// `make bench` and `make chaos` both drive the real binary this way, wait for
// log lines, stop or kill it, and read its exit code and resource usage.
package child

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// logTimeLayout is the "time" field of broadcaster's JSON log lines.
const logTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// tailLines is how many log lines of a failed process an error quotes.
const tailLines = 15

// Spec says what to start. The child gets Env and nothing of this process's
// own environment but PATH and HOME, so a harness never leaks an operator's
// DATABASE_URL into it.
type Spec struct {
	Binary string
	Args   []string
	// Dir is the working directory: a folder without config.yaml, so the
	// child reads its configuration from Env only.
	Dir string
	Env map[string]string
	// Logs, when not nil, receives every log line, prefixed with the
	// child's arguments.
	Logs io.Writer
}

// Line is one log line, as far as the harnesses read it.
type Line struct {
	Message string
	// Time is the line's "time" field; zero when it has none.
	Time time.Time
}

// Process is a running child whose log lines are collected.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logs    io.Writer
	started time.Time

	mu      sync.Mutex
	lines   []Line
	tail    []string      // the last raw lines, quoted when it fails
	changed chan struct{} // closed and replaced on every line
	done    chan struct{} // closed once it has exited and its output is read
	exit    int
	waitErr error
}

// Start starts the child. It is not tied to a context: a harness decides
// when to stop (Stop) or kill (Kill) it.
func Start(s Spec) (*Process, error) {
	cmd := exec.Command(s.Binary, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	p := &Process{name: strings.Join(s.Args, " "), cmd: cmd, logs: s.Logs,
		changed: make(chan struct{}), done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", s.Binary, p.name, err)
	}
	go p.read(stderr)
	return p, nil
}

// Name is the child's arguments, joined: how errors and logs name it.
func (p *Process) Name() string { return p.name }

// Started is when the child was started.
func (p *Process) Started() time.Time { return p.started }

// read collects log lines until the output ends, then reaps the process.
func (p *Process) read(stderr io.Reader) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		raw := sc.Text()
		if p.logs != nil {
			fmt.Fprintf(p.logs, "[%s] %s\n", p.name, raw)
		}
		var entry struct {
			Message string `json:"message"`
			Time    string `json:"time"`
		}
		_ = json.Unmarshal(sc.Bytes(), &entry)
		line := Line{Message: entry.Message}
		if t, err := time.Parse(logTimeLayout, entry.Time); err == nil {
			line.Time = t
		}
		p.mu.Lock()
		p.lines = append(p.lines, line)
		p.tail = append(p.tail, raw)
		if len(p.tail) > tailLines {
			p.tail = p.tail[1:]
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		p.exit = exit.ExitCode()
	case err != nil:
		p.exit, p.waitErr = -1, err
	}
	p.mu.Unlock()
	close(p.done)
}

// Times returns the times of the lines whose message is msg, in order.
func (p *Process) Times(msg string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ts []time.Time
	for _, l := range p.lines {
		if l.Message == msg {
			ts = append(ts, l.Time)
		}
	}
	return ts
}

// WaitLog waits until n log lines containing msg have been written.
func (p *Process) WaitLog(ctx context.Context, msg string, n int) error {
	for {
		p.mu.Lock()
		seen := 0
		for _, l := range p.lines {
			if strings.Contains(l.Message, msg) {
				seen++
			}
		}
		changed := p.changed
		p.mu.Unlock()
		if seen >= n {
			return nil
		}
		select {
		case <-changed:
		case <-p.done:
			return fmt.Errorf("%s exited before logging %q %d times", p.name, msg, n)
		case <-ctx.Done():
			return fmt.Errorf("waiting for log line %q ×%d: %w", msg, n, ctx.Err())
		}
	}
}

// Wait waits for the child to exit and returns its exit code. When ctx ends
// first, the child is killed.
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.Kill()
		return -1, fmt.Errorf("%s did not exit: %w", p.name, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit, p.waitErr
}

// Succeed waits for the child to exit and turns any exit but 0 into an
// error that quotes its last log lines.
func (p *Process) Succeed(ctx context.Context) error {
	code, err := p.Wait(ctx)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d", code)
	}
	if err != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return fmt.Errorf("%s: %w; last log lines:\n%s", p.name, err, strings.Join(p.tail, "\n"))
	}
	return nil
}

// Kill kills the child with SIGKILL, as an OOM killer or a power cut would,
// and waits until it is gone.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.done
	return nil
}

// Stop sends SIGTERM, as systemd or Kubernetes do, and waits for the exit.
func (p *Process) Stop(ctx context.Context) (int, error) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, err
	}
	return p.Wait(ctx)
}

// Usage is the exited child's CPU time (user plus system) and peak RSS in
// bytes: ru_maxrss (KiB on Linux) is its VmHWM when it exited.
func (p *Process) Usage() (cpu time.Duration, maxRSS int64, err error) {
	<-p.done
	ps := p.cmd.ProcessState
	if ps == nil {
		return 0, 0, errors.New(p.name + ": never ran")
	}
	cpu = ps.UserTime() + ps.SystemTime()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss * 1024
	}
	return cpu, maxRSS, nil
}
