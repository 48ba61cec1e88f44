package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
)

// testDB names the database of the tests' journals.
const testDB = "7713719857261189244/broadcaster"

// result builds a sent result for delivery id, with every kind of field set.
func result(id int64) campaign.Result {
	at := time.Date(2025, 3, 1, 2, 0, 0, int(id)*1000, time.UTC)
	return campaign.Result{
		Delivery: campaign.Delivery{ID: id, RunID: 7, CampaignID: 3, WcID: "wxid_" + string(rune('a'+id%26)),
			WID: "wid-1", Attempt: 1, ScheduledFor: at.Truncate(time.Hour)},
		Status: campaign.DeliverySent,
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeSent, StartedAt: at, Duration: 42 * time.Millisecond,
			HTTPStatus: 200, Code: "1000", Response: `{"code":"1000"}`,
			// newMsgId exceeds 2^53: it must not pass through a float64.
			Receipt: &campaign.Receipt{MsgID: 1000 + id, NewMsgID: 9007199254740993 + id, CreateTime: 1700000000, WcID: "wxid"}},
	}
}

func results(ids ...int64) []campaign.Result {
	out := make([]campaign.Result, len(ids))
	for i, id := range ids {
		out[i] = result(id)
	}
	return out
}

// open opens the journal at path and closes it at the end of the test.
func open(t *testing.T, path string, log zerolog.Logger) *File {
	t.Helper()
	j, err := Open(path, testDB, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func appendAll(t *testing.T, j *File, batches ...[]campaign.Result) {
	t.Helper()
	for _, b := range batches {
		if err := j.Append(b); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}

// replayed returns the batches Replay hands out.
func replayed(t *testing.T, j *File) [][]campaign.Result {
	t.Helper()
	var got [][]campaign.Result
	if err := j.Replay(func(rs []campaign.Result) error {
		got = append(got, rs)
		return nil
	}); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return got
}

func wantBatches(t *testing.T, got [][]campaign.Result, want ...[]campaign.Result) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("replayed %d batches:\n%+v\nwant %d:\n%+v", len(got), got, len(want), want)
	}
}

func TestReplayReturnsEveryBatchInOrderAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.journal")
	j := open(t, path, zerolog.Nop())
	appendAll(t, j, results(1, 2), results(3), nil, results(4, 5, 6))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The next process finds them, exactly: ids beyond 2^53 included.
	wantBatches(t, replayed(t, open(t, path, zerolog.Nop())), results(1, 2), results(3), results(4, 5, 6))
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode = %v (%v), want 0600: it holds recipients' ids", fi.Mode().Perm(), err)
	}
}

func TestWrittenEmptiesTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.journal")
	j := open(t, path, zerolog.Nop())
	appendAll(t, j, results(1, 2), results(3))
	if err := j.Written(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("after Written the file holds %d bytes (%v), want 0", fi.Size(), err)
	}
	wantBatches(t, replayed(t, j))
	appendAll(t, j, results(4))
	wantBatches(t, replayed(t, j), results(4))
}

func TestReplayStopsAtTheCallersError(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "results.journal"), zerolog.Nop())
	appendAll(t, j, results(1), results(2))
	down := errors.New("database down")
	calls := 0
	err := j.Replay(func([]campaign.Result) error { calls++; return down })
	if !errors.Is(err, down) || calls != 1 {
		t.Errorf("Replay = %v after %d calls, want the callback's error after 1", err, calls)
	}
	wantBatches(t, replayed(t, j), results(1), results(2)) // nothing lost
}

// damage changes the file at path, as a crash or a bad disk would.
type damage func(t *testing.T, path string, size int64)

func truncateBy(n int64) damage {
	return func(t *testing.T, path string, size int64) {
		t.Helper()
		if err := os.Truncate(path, size-n); err != nil {
			t.Fatal(err)
		}
	}
}

func flipByteFromEnd(n int64) damage {
	return func(t *testing.T, path string, size int64) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[size-n] ^= 0x20
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func appendBytes(extra []byte) damage {
	return func(t *testing.T, path string, _ int64) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(extra); err != nil {
			t.Fatal(err)
		}
	}
}

// A crash mid-append leaves a last record cut short or with bytes that never
// reached the disk: it is ignored, with a warning, and never fatal; the
// records before it are replayed, and records appended afterwards follow
// them, not the garbage, so the next replay finds them too.
func TestDamagedTailIsIgnoredAndOverwritten(t *testing.T) {
	for name, tt := range map[string]struct {
		damage damage
		want   [][]campaign.Result // of the two batches appended
	}{
		"cut in the payload":      {truncateBy(5), [][]campaign.Result{results(1, 2)}},
		"cut in the header":       {truncateBy(int64(len(mustEncode(t, results(3)))) - 3), [][]campaign.Result{results(1, 2)}},
		"checksum mismatch":       {flipByteFromEnd(10), [][]campaign.Result{results(1, 2)}},
		"zeros after a power cut": {appendBytes(make([]byte, 64)), [][]campaign.Result{results(1, 2), results(3)}},
		"half a header":           {appendBytes([]byte{1, 0}), [][]campaign.Result{results(1, 2), results(3)}},
		"absurd length":           {appendBytes([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, '{'}), [][]campaign.Result{results(1, 2), results(3)}},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.journal")
			j := open(t, path, zerolog.Nop())
			appendAll(t, j, results(1, 2), results(3))
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, path, fi.Size())
			if _, ignored, err := Read(path); err != nil || ignored == 0 {
				t.Errorf("Read sees %d damaged bytes (%v), want some", ignored, err)
			}

			var log bytes.Buffer
			j = open(t, path, zerolog.New(&log))
			if !strings.Contains(log.String(), "incomplete or damaged record") {
				t.Errorf("no warning about the damaged end; log: %s", log.String())
			}
			wantBatches(t, replayed(t, j), tt.want...)
			appendAll(t, j, results(4))
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			wantBatches(t, replayed(t, open(t, path, zerolog.Nop())), append(tt.want, results(4))...)
		})
	}
}

func mustEncode(t *testing.T, rs []campaign.Result) []byte {
	t.Helper()
	b, err := encode(testDB, rs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Damage in the middle (a bad disk) cannot be skipped reliably: the replay
// stops there, and says so, rather than guess where the next record starts.
func TestDamageInTheMiddleEndsTheReplayThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.journal")
	j := open(t, path, zerolog.Nop())
	appendAll(t, j, results(1), results(2), results(3))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	first := int64(len(mustEncode(t, results(1))))
	flipByteFromEnd(0)(t, path, first+headerSize+2) // a byte of the second payload
	var log bytes.Buffer
	wantBatches(t, replayed(t, open(t, path, zerolog.New(&log))), results(1))
	if !strings.Contains(log.String(), `"offset":`+jsonInt(first)) {
		t.Errorf("the warning does not name offset %d: %s", first, log.String())
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestARecordOfAnUnknownVersionIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.journal")
	if err := os.WriteFile(path, frame([]byte(`{"v":2,"results":[]}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	err := open(t, path, zerolog.Nop()).Replay(func([]campaign.Result) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("Replay = %v, want an error naming version 2", err)
	}
}

// A journal is never replayed into another database, where its delivery
// ids would name unrelated deliveries: nothing of it is replayed, and the
// error says what to do.
func TestAJournalOfAnotherDatabaseIsNotReplayed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.journal")
	j := open(t, path, zerolog.Nop())
	appendAll(t, j, results(1))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := Open(path, "42/staging", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	appendAll(t, other, results(2)) // this process's own, after the foreign one
	calls := 0
	err = other.Replay(func([]campaign.Result) error { calls++; return nil })
	if !errors.Is(err, ErrOtherDatabase) || !strings.Contains(err.Error(), testDB) || calls != 0 {
		t.Errorf("Replay = %v after %d calls; want ErrOtherDatabase naming %s, and nothing replayed", err, calls, testDB)
	}
}

// Two processes on one journal would compact away each other's unrecorded
// results: the second is refused, with a message saying why, until the
// first closes it (or dies).
func TestASecondOpenIsRefusedWhileTheFirstHoldsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.journal")
	first := open(t, path, zerolog.Nop())
	_, err := Open(path, testDB, zerolog.Nop())
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open = %v, want ErrLocked naming %s", err, path)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, path, zerolog.Nop())
}

func TestOpenNeedsAnExistingDirectory(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing", "results.journal"), testDB, zerolog.Nop())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open in a missing directory = %v, want not-exist", err)
	}
}

func TestReadOfAMissingJournalIsEmpty(t *testing.T) {
	rs, ignored, err := Read(filepath.Join(t.TempDir(), "none"))
	if rs != nil || ignored != 0 || err != nil {
		t.Errorf("Read = %v, %d, %v; want nothing", rs, ignored, err)
	}
}
