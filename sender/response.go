package sender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/broadcaster/broadcaster/campaign"
)

// API codes fixed by the provider, unlike the retry codes, which are
// configuration. The fake API (sendertest) answers with these, and the
// configuration refuses CodeSent as a retry code, so each is written once.
const (
	// CodeSent is the API code meaning the message went out.
	CodeSent = "1000"
	// CodeFailed is the provider's generic "failed", which it answers to
	// transient trouble as well as to lasting trouble.
	CodeFailed = "1001"
)

// Response is the API's answer envelope. It is decoded leniently where the
// provider is known to vary (code as a string or a number, the text under
// "msg" or "message", ids as numbers or strings) and exactly where the
// database needs it: ids are parsed as int64 and never pass through float64,
// because newMsgId exceeds 2^53.
type Response struct {
	// Code is the API code in canonical decimal form ("1000", "1001"), so
	// that a numeric 1000 and a string "1000" compare equal. Never "".
	Code string
	// Message is the text under "msg", or under "message" when "msg" is
	// absent or empty.
	Message string
	// Receipt is decoded from "data". It is nil when data is null, missing
	// or not an object. A field that is missing or not an integer (or an
	// integer in a string) is left zero rather than failing the whole
	// answer: a code 1000 means the message went out whatever the data says.
	// An id that is present but does not fit an int64 is kept as text in
	// Receipt.Overflow.
	Receipt *campaign.Receipt
}

// Parse errors. They are distinguished so that tests and the fuzz target can
// check that bad bodies are refused for the right reason; Classify treats
// them all alike (an unparseable answer is ambiguous).
var (
	// ErrEmptyBody reports a response with no body, or only whitespace.
	ErrEmptyBody = errors.New("empty body")
	// ErrNotJSON reports a body that is not a JSON object (an HTML error
	// page, a truncated document, an array, …).
	ErrNotJSON = errors.New("body is not a JSON object")
	// ErrNoCode reports a JSON object without a usable "code": missing,
	// null, empty, or neither a string nor a number.
	ErrNoCode = errors.New("no code in response")
)

// envelope holds the top-level fields undecoded, so that each can be read
// with the leniency it needs.
type envelope struct {
	Code    json.RawMessage `json:"code"`
	Msg     json.RawMessage `json:"msg"`
	Message json.RawMessage `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// ParseResponse decodes a sendApplet response body. It fails when the body
// is not a JSON object with a code: such an answer cannot say whether the
// message went out. A leading UTF-8 byte order mark, which some server
// stacks emit, is ignored. It never panics, whatever the input.
func ParseResponse(body []byte) (Response, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\ufeff")))
	if len(trimmed) == 0 {
		return Response{}, ErrEmptyBody
	}
	if trimmed[0] != '{' {
		return Response{}, fmt.Errorf("%w: starts with %q", ErrNotJSON, firstRune(trimmed))
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrNotJSON, err)
	}
	code, err := parseCode(env.Code)
	if err != nil {
		return Response{}, err
	}
	msg := parseText(env.Msg)
	if msg == "" {
		msg = parseText(env.Message)
	}
	return Response{Code: code, Message: msg, Receipt: parseReceipt(env.Data)}, nil
}

// firstRune returns the first character of b, for error messages that show
// what a non-JSON body looked like without quoting all of it.
func firstRune(b []byte) string {
	r, _ := utf8.DecodeRune(b)
	return string(r)
}

// parseCode reads the code as a JSON string or number and puts it in
// canonical form.
func parseCode(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", ErrNoCode
	}
	var code string
	switch {
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &code); err != nil {
			return "", fmt.Errorf("%w: %w", ErrNoCode, err)
		}
		code = strings.TrimSpace(code)
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		code = canonicalNumber(string(raw))
	default:
		return "", fmt.Errorf("%w: code is neither a string nor a number", ErrNoCode)
	}
	if code == "" {
		return "", ErrNoCode
	}
	return code, nil
}

// canonicalNumber writes an integral JSON number as a plain decimal integer
// (1000, 1000.0 and 1e3 all become "1000") and leaves any other number as
// written, which then matches no known code.
func canonicalNumber(s string) string {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return s
}

// parseText reads a JSON string; anything else that is not null is kept as
// its JSON text, since an odd message is still worth showing an operator.
func parseText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return string(raw)
	}
	return s
}

// parseReceipt decodes data field by field, so that one odd field does not
// lose the others.
func parseReceipt(raw json.RawMessage) *campaign.Receipt {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil
	}
	msgType, _ := parseInt64(fields["type"])
	const maxWcID = 256
	r := &campaign.Receipt{WcID: storableText([]byte(parseText(fields["wcId"])), maxWcID)}
	if msgType >= math.MinInt32 && msgType <= math.MaxInt32 {
		r.MsgType = int(msgType)
	}
	for _, id := range []struct {
		name string
		dst  *int64
	}{{"msgId", &r.MsgID}, {"newMsgId", &r.NewMsgID}, {"createTime", &r.CreateTime}} {
		v, overflow := parseID(fields[id.name])
		*id.dst = v
		if overflow != "" {
			if r.Overflow == nil {
				r.Overflow = map[string]string{}
			}
			r.Overflow[id.name] = overflow
		}
	}
	return r
}

// maxOverflowText bounds the text kept for one id that does not fit an
// int64. A real id has at most 20 digits; anything longer is kept this far,
// and whole in the raw response of the attempt.
const maxOverflowText = 1 << 10

// parseID reads a receipt id exactly. An id that fits an int64 is returned as
// v; one that is present but does not fit (beyond 2^63-1, in float notation,
// not a number at all) is returned as the text the API sent: a string's
// contents, or the JSON text of anything else, made storable and bounded. A
// missing, null or blank id is neither.
func parseID(raw json.RawMessage) (v int64, overflow string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, ""
	}
	if i, ok := parseInt64(raw); ok {
		return i, ""
	}
	text := string(raw)
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			text = s
		}
	}
	return 0, strings.TrimSpace(storableText([]byte(strings.TrimSpace(text)), maxOverflowText))
}

// parseInt64 reads an integer given as a JSON number or as a string holding
// one, exactly: the literal text is parsed as an int64, never as a float.
func parseInt64(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, false
		}
		text = strings.TrimSpace(text)
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, false
	}
	return i, true
}

// readBounded reads at most limit bytes of r, reading one more to learn
// whether the body was longer. A provider that streams megabytes (or never
// stops) must not exhaust memory.
func readBounded(r io.Reader, limit int64) (body []byte, truncated bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(body)) > limit {
		return body[:limit], true, err
	}
	return body, false, err
}

// storableText turns bytes from the network into text a PostgreSQL text
// column accepts — valid UTF-8 (invalid bytes become U+FFFD) without NUL
// bytes — of at most max bytes, cut on a character boundary.
func storableText(b []byte, max int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	return cutText(s, max)
}

// cutText shortens valid UTF-8 text to at most max bytes without splitting a
// character.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// storableCode bounds a code for delivery_attempts.code: a real code is a
// few digits, and a body that claims a novel as its code is not worth
// keeping twice (the raw response has it).
func storableCode(code string) string {
	const maxCode = 64
	return storableText([]byte(code), maxCode)
}

// shortText bounds free text from the network (an API message, an error)
// for Attempt.Error, which is meant to be read at a glance in a report.
func shortText(s string) string {
	const maxErrorText = 300
	return storableText([]byte(s), maxErrorText)
}
