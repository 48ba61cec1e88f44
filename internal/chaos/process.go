package chaos

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
)

// Process is a running broadcaster whose JSON log lines are collected.
type Process struct {
	name string
	cmd  *exec.Cmd
	logs io.Writer

	mu      sync.Mutex
	msgs    []string
	changed chan struct{} // closed and replaced on every line
	done    chan struct{} // closed once the process has exited and its output is read
	exit    int
	waitErr error
}

// Start starts broadcaster with args and the rig's environment (nothing of
// this process's own but PATH and HOME).
func (r *Rig) Start(args ...string) (*Process, error) {
	cmd := exec.Command(r.Opts.Binary, args...)
	cmd.Dir = r.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range r.environ() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start broadcaster %v: %w", args, err)
	}
	p := &Process{name: strings.Join(args, " "), cmd: cmd, logs: r.Opts.Logs,
		changed: make(chan struct{}), done: make(chan struct{})}
	go p.read(stderr)
	r.mu.Lock()
	r.ps = append(r.ps, p)
	r.mu.Unlock()
	return p, nil
}

// Run runs broadcaster with args to the end and returns its exit code.
func (r *Rig) Run(ctx context.Context, args ...string) (int, error) {
	p, err := r.Start(args...)
	if err != nil {
		return -1, err
	}
	return p.Wait(ctx)
}

// read collects log lines until the process's output ends, then reaps it.
func (p *Process) read(stderr io.Reader) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(sc.Bytes(), &line)
		if p.logs != nil {
			fmt.Fprintf(p.logs, "[%s] %s\n", p.name, sc.Bytes())
		}
		p.mu.Lock()
		p.msgs = append(p.msgs, line.Message)
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

// WaitLog waits until n log lines containing msg have been written.
func (p *Process) WaitLog(ctx context.Context, msg string, n int) error {
	for {
		p.mu.Lock()
		seen := 0
		for _, m := range p.msgs {
			if strings.Contains(m, msg) {
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
			return fmt.Errorf("broadcaster %s exited before logging %q %d times", p.name, msg, n)
		case <-ctx.Done():
			return fmt.Errorf("waiting for log line %q ×%d: %w", msg, n, ctx.Err())
		}
	}
}

// Wait waits for the process to exit and returns its exit code.
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.Kill()
		return -1, fmt.Errorf("broadcaster %s did not exit: %w", p.name, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit, p.waitErr
}

// Kill kills the process with SIGKILL, as an OOM killer or a power cut
// would, and waits until it is gone.
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
