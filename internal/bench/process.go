package bench

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
	"time"
)

// logTimeLayout is the "time" field of broadcaster's JSON log lines.
const logTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// tailLines is how many log lines of a failed process an error quotes.
const tailLines = 15

// process is a running child: broadcaster, or the bare loop.
type process struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed once the output is read and the process reaped

	mu         sync.Mutex
	runCreated []time.Time // "time" of each "run created" log line
	tail       []string    // the last log lines
	waitErr    error
}

// startProcess starts binary with args in dir, with env and nothing of the
// harness's own environment but PATH and HOME. Its stderr is read as
// broadcaster's JSON log (and copied to logs when not nil).
func startProcess(ctx context.Context, dir, binary string, env map[string]string, logs io.Writer, args ...string) (*process, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir // no ./config.yaml
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	p := &process{name: strings.Join(args, " "), cmd: cmd, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", binary, p.name, err)
	}
	go p.read(stderr, logs)
	return p, nil
}

// read collects log lines until the output ends, then reaps the process.
func (p *process) read(stderr io.Reader, logs io.Writer) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if logs != nil {
			fmt.Fprintf(logs, "[%s] %s\n", p.name, line)
		}
		var entry struct {
			Message string `json:"message"`
			Time    string `json:"time"`
		}
		_ = json.Unmarshal(sc.Bytes(), &entry)
		p.mu.Lock()
		if entry.Message == "run created" {
			if t, err := time.Parse(logTimeLayout, entry.Time); err == nil {
				p.runCreated = append(p.runCreated, t)
			}
		}
		p.tail = append(p.tail, line)
		if len(p.tail) > tailLines {
			p.tail = p.tail[1:]
		}
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.waitErr = err
	p.mu.Unlock()
	close(p.done)
}

// wait waits for the process to exit; an exit other than 0 is an error
// quoting the last log lines.
func (p *process) wait() error {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr != nil {
		return fmt.Errorf("%s: %w; last log lines:\n%s", p.name, p.waitErr, strings.Join(p.tail, "\n"))
	}
	return nil
}

// usage is the exited process's CPU time and peak RSS.
func (p *process) usage() (time.Duration, int64, error) {
	<-p.done
	if p.cmd.ProcessState == nil {
		return 0, 0, errors.New(p.name + ": never ran")
	}
	cpu, rss := exitedUsage(p.cmd.ProcessState)
	return cpu, rss, nil
}

// runsCreated returns the times of the "run created" lines logged.
func (p *process) runsCreated() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.runCreated...)
}
