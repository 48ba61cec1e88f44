package archive

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "deliveries_p2026_01")
	const csv = "id,wc_id,status\n1,wxid_a,sent\n2,\"wxid_b,c\",failed\n"
	f, err := WriteTable(dir, "deliveries.csv.gz", "deliveries", func(w io.Writer) (int64, error) {
		for _, chunk := range []string{"id,wc_", "id,status\n1,wxid_a,sent\n", "2,\"wxid_b,c\",failed\n"} {
			if _, err := io.WriteString(w, chunk); err != nil {
				return 0, err
			}
		}
		return 2, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows != 2 || !reflect.DeepEqual(f.Columns, []string{"id", "wc_id", "status"}) || f.Table != "deliveries" {
		t.Errorf("file = %+v", f)
	}
	stored, err := os.ReadFile(filepath.Join(dir, "deliveries.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(stored)
	if f.SHA256 != hex.EncodeToString(sum[:]) || f.Bytes != int64(len(stored)) {
		t.Errorf("sha256/bytes = %s/%d, file has %x/%d", f.SHA256, f.Bytes, sum, len(stored))
	}
	gz, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(gz)
	if err != nil || string(plain) != csv {
		t.Errorf("content = %q, %v; want %q", plain, err, csv)
	}
}

// A failing fill leaves nothing behind: no file under the final name, no
// temporary file.
func TestWriteTableFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	boom := errors.New("copy failed")
	_, err := WriteTable(dir, "deliveries.csv.gz", "deliveries", func(w io.Writer) (int64, error) {
		_, _ = io.WriteString(w, "id\n1\n")
		return 0, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	to := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	m := Manifest{Partition: "deliveries_p2026_01", AttemptsPartition: "delivery_attempts_p2026_01", Kind: "month",
		RangeTo: to, Files: []File{{Name: "deliveries.csv.gz", Rows: 3, Columns: []string{"id"}}}, Version: "v1", CreatedAt: to}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(dir)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("ReadManifest = %+v, %v; want %+v", got, err, m)
	}
}

func TestMkdirDurableMakesEveryMissingParent(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "deliveries_p2026_01")
	if err := mkdirDurable(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("%s: %v", dir, err)
	}
	if err := mkdirDurable(dir); err != nil {
		t.Errorf("again on an existing directory: %v", err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := mkdirDurable(filepath.Join(file, "x")); err == nil {
		t.Error("a directory under a regular file was made, or no error said why not")
	}
}
