// Package journal is broadcaster's results journal (results.journal): a
// local append-only file of the API's answers, synced before the database
// is asked to record them and replayed into it at the next start, so that a
// process killed while its database is unreachable loses no confirmed send.
// It implements campaign.Journal.
//
// It only helps where the file outlives the process: a systemd
// StateDirectory, a StatefulSet's volume. One file belongs to one process at
// a time, which an exclusive lock (flock) enforces.
package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
)

// ErrOtherDatabase reports a journal written for another database than the
// one this process uses: its delivery ids would name unrelated deliveries
// there, so it is not replayed.
var ErrOtherDatabase = errors.New("the results journal belongs to another database")

// ErrLocked reports that another process holds the journal: two processes
// appending to one file would replay each other's results and compact away
// each other's unrecorded ones.
var ErrLocked = errors.New("the results journal is in use by another process")

// File is an open, locked results journal.
type File struct {
	path string
	db   string // the database whose results this process journals
	log  zerolog.Logger

	mu     sync.Mutex
	f      *os.File
	size   int64 // end of the last whole record: where the next one goes
	broken error // a failed append that could not be undone
}

var _ campaign.Journal = (*File)(nil)

// Open opens the journal at path, creating it (mode 0600: it holds
// recipients' ids) when missing, and locks it for this process. db names
// the database the results go to (db.Store.Identity): every record carries
// it, and Replay refuses records of another one. A record cut short by a
// crash mid-append is logged and dropped, so that new records never follow
// garbage. The directory must exist: a mistyped path should fail rather than
// journal somewhere nobody looks.
func Open(path, db string, log zerolog.Logger) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open results journal: %w", err)
	}
	j := &File{path: path, db: db, log: log, f: f}
	if err := j.open(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

func (j *File) open() error {
	if err := lock(j.f); err != nil {
		if errors.Is(err, errWouldBlock) {
			return fmt.Errorf("%w: %s is locked; give each broadcaster process a results.journal of its own", ErrLocked, j.path)
		}
		return fmt.Errorf("lock results journal %s: %w", j.path, err)
	}
	// The file may be new: its directory entry must survive a crash too.
	if err := syncDir(filepath.Dir(j.path)); err != nil {
		return fmt.Errorf("sync the directory of %s: %w", j.path, err)
	}
	fi, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("results journal: %w", err)
	}
	good, err := scan(io.NewSectionReader(j.f, 0, fi.Size()), nil)
	if err != nil {
		return fmt.Errorf("read results journal %s: %w", j.path, err)
	}
	if ignored := fi.Size() - good; ignored > 0 {
		j.log.Warn().Str("journal", j.path).Int64("offset", good).Int64("bytes", ignored).
			Msg("the results journal ends in an incomplete or damaged record (a crash while appending); ignoring it")
		if err := j.f.Truncate(good); err != nil {
			return fmt.Errorf("drop the damaged end of %s: %w", j.path, err)
		}
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("sync results journal: %w", err)
		}
	}
	j.size = good
	return nil
}

// Append implements campaign.Journal: one record, written and synced. A
// failed append is undone, so that the next one does not follow a partial
// record.
func (j *File) Append(results []campaign.Result) error {
	if len(results) == 0 {
		return nil
	}
	rec, err := encode(j.db, results)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return fmt.Errorf("results journal unusable since a failed append could not be undone: %w", j.broken)
	}
	if _, err := j.f.WriteAt(rec, j.size); err != nil {
		return j.undo(fmt.Errorf("append to results journal: %w", err))
	}
	if err := j.f.Sync(); err != nil {
		return j.undo(fmt.Errorf("sync results journal: %w", err))
	}
	j.size += int64(len(rec))
	return nil
}

// undo cuts a failed append off the end of the file and returns err.
func (j *File) undo(err error) error {
	if terr := j.f.Truncate(j.size); terr != nil {
		j.broken = errors.Join(err, terr)
	}
	return err
}

// Written implements campaign.Journal: it empties the file. The truncation
// is not synced: should a crash undo it, the next start replays results the
// database already has, which changes nothing.
func (j *File) Written() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.size == 0 && j.broken == nil {
		return nil
	}
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("empty results journal: %w", err)
	}
	j.size, j.broken = 0, nil
	return nil
}

// Replay implements campaign.Journal: every record, oldest first. A record
// of another database stops it with ErrOtherDatabase before anything is
// replayed: the operator decides what becomes of that file.
func (j *File) Replay(fn func([]campaign.Result) error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	section := func() io.Reader { return io.NewSectionReader(j.f, 0, j.size) }
	_, err := scan(section(), func(body []byte) error {
		p, err := decode(body)
		if err != nil {
			return fmt.Errorf("%s: %w", j.path, err)
		}
		if p.DB != j.db {
			return fmt.Errorf("%w: %s holds results of database %s, this process writes to %s; "+
				"point it at that database to replay them, or move the file away to give them up",
				ErrOtherDatabase, j.path, p.DB, j.db)
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = scan(section(), func(body []byte) error {
		p, err := decode(body)
		if err != nil {
			return fmt.Errorf("%s: %w", j.path, err)
		}
		return fn(p.Results)
	})
	return err
}

// Close releases the lock and closes the file, keeping its content for the
// next start.
func (j *File) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("close results journal: %w", err)
	}
	return nil
}

// Read returns the results in the journal at path without locking it or
// changing it, with how many bytes at its end are damaged and would be
// ignored. It lets tests and operators look at a journal that a process
// holds (an empty or missing file holds nothing).
func Read(path string) (results []campaign.Result, ignored int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read results journal: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("read results journal: %w", err)
	}
	good, err := scan(io.NewSectionReader(f, 0, fi.Size()), func(body []byte) error {
		p, err := decode(body)
		results = append(results, p.Results...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read results journal %s: %w", path, err)
	}
	return results, fi.Size() - good, nil
}
