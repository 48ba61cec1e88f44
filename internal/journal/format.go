package journal

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/broadcaster/broadcaster/campaign"
)

// A journal file is a sequence of records, one per Append:
//
//	uint32 little-endian  length of the payload
//	uint32 little-endian  CRC-32C of the payload
//	payload               JSON: {"v":1,"db":"…","results":[campaign.Result…]}
//
// The length lets a reader find a record cut short by a crash mid-append;
// the checksum catches a record whose length reached the disk but whose
// bytes did not (a file extended with zeros after a power cut). Either way
// that record and everything after it are ignored: the process that wrote
// them died before the database write they preceded, so their deliveries are
// reaped as `unknown`, as they would be without a journal.
const headerSize = 8

// maxPayload bounds one record, so a damaged length is recognised as damage
// rather than read as a request for gigabytes. A batch of results is far
// smaller: a response body is bounded by the sender.
const maxPayload = 256 << 20

// version is the payload format. A journal lives only from a crash to the
// next start, but that start may be of a newer binary: a version it does not
// know is an error, never a silent loss.
const version = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// payload is one record's content. Results are encoded as campaign.Result
// itself, so a field added to it is journalled without a change here. DB
// names the database the results belong to (see Open).
type payload struct {
	Version int               `json:"v"`
	DB      string            `json:"db"`
	Results []campaign.Result `json:"results"`
}

// encode returns one whole record holding results of database db.
func encode(db string, results []campaign.Result) ([]byte, error) {
	body, err := json.Marshal(payload{Version: version, DB: db, Results: results})
	if err != nil {
		return nil, fmt.Errorf("encode results: %w", err)
	}
	return frame(body), nil
}

// frame puts the header in front of a payload.
func frame(body []byte) []byte {
	rec := make([]byte, headerSize, headerSize+len(body))
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(body)))
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(body, castagnoli))
	return append(rec, body...)
}

// decode reads one record's payload.
func decode(body []byte) (payload, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("decode record: %w", err)
	}
	if p.Version != version {
		return p, fmt.Errorf("record of format version %d, this broadcaster reads version %d: replay it with the version that wrote it", p.Version, version)
	}
	return p, nil
}

// scan reads whole, intact records from r, calling each (when not nil) with
// every payload in order, until the end of r or the first record that is
// cut short or damaged. It returns the length of the intact records; the
// caller compares it with the file's size to know whether anything was
// ignored. A read error other than the end of r is returned as is.
func scan(r io.Reader, each func(body []byte) error) (int64, error) {
	br := bufio.NewReader(r)
	var (
		good   int64
		header [headerSize]byte
	)
	for {
		if _, err := io.ReadFull(br, header[:]); err != nil {
			return good, endOrError(err)
		}
		n := binary.LittleEndian.Uint32(header[0:4])
		if n == 0 || n > maxPayload {
			return good, nil // damaged length
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return good, endOrError(err)
		}
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(header[4:8]) {
			return good, nil
		}
		if each != nil {
			if err := each(body); err != nil {
				return good, err
			}
		}
		good += int64(headerSize) + int64(n)
	}
}

// endOrError treats the end of the file, also in the middle of a record, as
// the end of the journal.
func endOrError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}
