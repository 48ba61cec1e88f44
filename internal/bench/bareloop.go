package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/broadcaster/broadcaster/internal/child"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// BareLoop is the reference of the throughput target: the HTTP ceiling of
// this machine against the fake API. Workers goroutines share n POSTs of
// one body to url over one keep-alive pool as large as workers, each
// answer read to the end and its status checked — and nothing else: no
// database, no parsing, no record. broadcaster does all of this too, so it
// can only approach the loop's rate.
func BareLoop(ctx context.Context, url, token string, body []byte, n, workers int) error {
	transport := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var next atomic.Int64
	p := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError()
	for range workers {
		p.Go(func(ctx context.Context) error {
			for next.Add(1) <= int64(n) {
				if err := post(ctx, client, url, token, body); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return p.Wait()
}

// post sends one request and reads its answer.
func post(ctx context.Context, client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bare loop: HTTP %d", resp.StatusCode)
	}
	return nil
}

// requestBody is what broadcaster sends for one recipient of the bench
// template: the four fields in the provider's order, HTML escaping off.
func requestBody(appMsg, wcID string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		WID     string `json:"wId"`
		WcID    string `json:"wcId"`
		ImgURL  string `json:"imgUrl"`
		Content string `json:"content"`
	}{wID, wcID, imgURL, appMsg})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// BareLoopArgs are the arguments that make the harness's own program run
// BareLoop (cmd/benchtable's "bareloop" subcommand): url, token, the file
// holding the body, n, workers.
func BareLoopArgs(url, bodyFile string, n, workers int) []string {
	return []string{"bareloop", url, token, bodyFile, strconv.Itoa(n), strconv.Itoa(workers)}
}

// bodyFile writes the request body broadcaster sends for wcID to a file of
// the rig's named after name, for a loop run as a process of its own.
func (w *world) bodyFile(name, wcID string) (string, error) {
	body, err := requestBody(w.rig.opts.AppMsg, wcID)
	if err != nil {
		return "", err
	}
	path := filepath.Join(w.rig.dir, name+"-body.json")
	return path, os.WriteFile(path, body, 0o644)
}

// bareLoop runs BareLoop in a process of its own against the world's fake
// API, and measures it like a broadcaster run (without the database).
func (w *world) bareLoop(ctx context.Context, n, workers int) (sample, error) {
	bodyFile, err := w.bodyFile("bare", "wxid_bare")
	if err != nil {
		return sample{}, err
	}
	s, err := w.measure(ctx, n, false, func(ctx context.Context) ([]*child.Process, error) {
		args := BareLoopArgs(w.api.URL()+sendertest.Path, bodyFile, n, workers)
		p, err := child.Start(child.Spec{Binary: w.rig.opts.Self, Args: args, Dir: w.rig.dir, Logs: w.rig.opts.Logs})
		if err != nil {
			return nil, err
		}
		return []*child.Process{p}, nil
	})
	s.pgCPU, s.wal, s.bytes = 0, 0, 0 // no database: what it did meanwhile is not the loop's
	return s, err
}
