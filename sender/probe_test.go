package sender

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// serve runs handler on a real loopback listener, closed when the test ends,
// and returns its base URL.
func serve(t *testing.T, handler http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return "http://" + l.Addr().String()
}

// refusedURL returns an http URL on a loopback port nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func encodeImage(t *testing.T, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// imageServer serves covers good and bad, the way image hosts do.
func imageServer(t *testing.T) string {
	t.Helper()
	pngBytes, jpegBytes := encodeImage(t, "png"), encodeImage(t, "jpeg")
	webp := []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00")
	padded := func(head []byte, n int) []byte {
		return append(append([]byte{}, head...), make([]byte, n-len(head))...)
	}
	send := func(ct string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ct == "" {
				w.Header()["Content-Type"] = nil // no sniffing by net/http either
			} else {
				w.Header().Set("Content-Type", ct)
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/cover.png", send("image/png", pngBytes))
	mux.Handle("/cover.jpg", send("image/jpeg; charset=binary", jpegBytes))
	mux.Handle("/cover.webp", send("image/webp", webp))
	mux.Handle("/mislabelled.png", send("image/png", webp))
	mux.Handle("/untyped.png", send("", pngBytes))
	mux.Handle("/octet.png", send("application/octet-stream", pngBytes))
	mux.Handle("/page.html", send("text/html", []byte("<!doctype html><p>moved</p>")))
	mux.Handle("/exact.png", send("image/png", padded(pngBytes, MaxImageBytes)))
	mux.Handle("/big.png", send("image/png", padded(pngBytes, MaxImageBytes+1)))
	mux.Handle("/empty.png", send("image/png", nil))
	mux.HandleFunc("/chunked.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(jpegBytes)
		w.(http.Flusher).Flush() // no Content-Length from here on
		_, _ = w.Write(make([]byte, MaxImageBytes))
	})
	mux.HandleFunc("/endless.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		chunk := padded(jpegBytes, 4096)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/redirect.png", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/cover.png", http.StatusFound)
	})
	mux.HandleFunc("/hang.png", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	return serve(t, mux)
}

func TestProbeImage(t *testing.T) {
	t.Parallel()
	base := imageServer(t)
	tests := []struct {
		path     string
		want     ImageInfo // URL, Format and TooLarge compared; Size when not 0
		problems []error
	}{
		{"/cover.png", ImageInfo{ContentType: "image/png", Format: "png"}, nil},
		{"/cover.jpg", ImageInfo{ContentType: "image/jpeg", Format: "jpeg"}, nil},
		{"/redirect.png", ImageInfo{ContentType: "image/png", Format: "png"}, nil},
		{"/exact.png", ImageInfo{ContentType: "image/png", Format: "png", Size: MaxImageBytes}, nil},
		{"/cover.webp", ImageInfo{ContentType: "image/webp", Format: "image/webp"}, []error{ErrImageFormat}},
		{"/mislabelled.png", ImageInfo{ContentType: "image/png", Format: "image/webp"}, []error{ErrImageFormat}},
		{"/untyped.png", ImageInfo{ContentType: "", Format: "png"}, []error{ErrImageFormat}},
		{"/octet.png", ImageInfo{ContentType: "application/octet-stream", Format: "png"}, []error{ErrImageFormat}},
		{"/page.html", ImageInfo{ContentType: "text/html", Format: "text/html; charset=utf-8"}, []error{ErrImageFormat}},
		{"/big.png", ImageInfo{ContentType: "image/png", Format: "png", Size: MaxImageBytes + 1, TooLarge: true}, []error{ErrImageTooLarge}},
		{"/chunked.jpg", ImageInfo{ContentType: "image/jpeg", Format: "jpeg", TooLarge: true}, []error{ErrImageTooLarge}},
		{"/endless.jpg", ImageInfo{ContentType: "image/jpeg", Format: "jpeg", TooLarge: true}, []error{ErrImageTooLarge}},
		{"/empty.png", ImageInfo{ContentType: "image/png", Format: "empty"}, []error{ErrImageFormat}},
	}
	client := NewProbeClient(10 * time.Second)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			info, err := ProbeImage(context.Background(), client, base+tt.path)
			if err != nil {
				t.Fatalf("ProbeImage: %v", err)
			}
			if info.URL != base+tt.path || info.Status != http.StatusOK || info.ContentType != tt.want.ContentType ||
				info.Format != tt.want.Format || info.TooLarge != tt.want.TooLarge || tt.want.Size != 0 && info.Size != tt.want.Size ||
				tt.want.TooLarge && tt.want.Size == 0 && info.Size != 0 {
				t.Errorf("info = %+v, want %+v", info, tt.want)
			}
			got := info.Problems()
			if len(got) != len(tt.problems) {
				t.Fatalf("problems = %v, want %v", got, tt.problems)
			}
			for i, want := range tt.problems {
				if !errors.Is(got[i], want) {
					t.Errorf("problem %d = %v, want %v", i, got[i], want)
				}
			}
		})
	}
}

func TestProbeImageFetchErrors(t *testing.T) {
	t.Parallel()
	base := imageServer(t)
	tests := []struct {
		name, url  string
		wantStatus int
	}{
		{"not found", base + "/missing.png", http.StatusNotFound},
		{"refused", refusedURL(t) + "/c.png", 0},
		{"timeout", base + "/hang.png", 0},
		{"not a url", "http://%zz", 0},
	}
	client := NewProbeClient(300 * time.Millisecond)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info, err := ProbeImage(context.Background(), client, tt.url)
			if !errors.Is(err, ErrImageFetch) {
				t.Fatalf("error = %v, want ErrImageFetch", err)
			}
			if info.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d", info.Status, tt.wantStatus)
			}
		})
	}
}

func TestProbeImagesBoundsConcurrencyAndDeduplicates(t *testing.T) {
	t.Parallel()
	const limit = 2
	var (
		mu       sync.Mutex
		inFlight int
		maxSeen  int
		hits     = map[string]int{}
	)
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	pngBytes := encodeImage(t, "png")
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		maxSeen = max(maxSeen, inFlight)
		hits[r.URL.Path]++
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBytes)
	}))
	var urls []string
	for i := range 6 {
		urls = append(urls, base+"/c"+strconv.Itoa(i%5)+".png") // c0 twice
	}
	done := make(chan map[string]ImageResult)
	go func() { done <- ProbeImages(context.Background(), NewProbeClient(10*time.Second), urls, limit) }()
	// Let the requests through one at a time once the first ones arrived:
	// an unbounded prober would have them all in flight at once.
	for range 5 {
		<-arrived
		release <- struct{}{}
	}
	results := <-done
	if maxSeen > limit {
		t.Errorf("%d requests in flight at once, want at most %d", maxSeen, limit)
	}
	if len(results) != 5 || hits["/c0.png"] != 1 {
		t.Errorf("%d results, /c0.png fetched %d times; want 5 results, one fetch each", len(results), hits["/c0.png"])
	}
	for u, r := range results {
		if r.Err != nil || len(r.Info.Problems()) != 0 {
			t.Errorf("%s: %v %v", u, r.Err, r.Info.Problems())
		}
	}
}

func TestProbeAPI(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []*http.Request
	)
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		if r.URL.Path == "/moved/" {
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
	}))
	tests := []struct {
		name, url  string
		wantStatus int
		wantErr    error
	}{
		{"any answer counts", base, http.StatusNotFound, nil},
		{"with a path", base + "/api/v1", http.StatusNotFound, nil},
		{"redirect not followed", base + "/moved/", http.StatusMovedPermanently, nil},
		{"refused", refusedURL(t), 0, ErrAPIUnreachable},
	}
	client := NewProbeClient(5 * time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, err := ProbeAPI(context.Background(), client, tt.url)
			if status != tt.wantStatus || !errors.Is(err, tt.wantErr) {
				t.Errorf("ProbeAPI = %d, %v; want %d, %v", status, err, tt.wantStatus, tt.wantErr)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range seen {
		if r.Method != http.MethodGet || r.URL.Path == "/sendApplet" || r.Header.Get("Authorization") != "" || r.URL.Path == "/elsewhere" {
			t.Errorf("probe sent %s %s (Authorization %q)", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
	}
}
