package sender

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/broadcaster/broadcaster/campaign"
)

// seedReceipt is the data of the provider's success example.
func seedReceipt() *campaign.Receipt {
	return &campaign.Receipt{
		MsgType:    0,
		MsgID:      697760545,
		NewMsgID:   7645748705605226305,
		CreateTime: 1641458149,
		WcID:       "jack_623555049",
	}
}

// nginx502 is the page nginx answers when the provider's backend is down.
const nginx502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
	"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// replace rewrites a fixture, failing the test if old is not in it, so that a
// variant never silently equals the original.
func replace(tb testing.TB, b []byte, old, new string) []byte {
	tb.Helper()
	if !bytes.Contains(b, []byte(old)) {
		tb.Fatalf("%q not in %s", old, b)
	}
	return bytes.ReplaceAll(b, []byte(old), []byte(new))
}

func TestParseResponseFixtures(t *testing.T) {
	success := readFixture(t, "seed-success-response.json")
	failure := readFixture(t, "seed-error-response.json")
	tests := []struct {
		name    string
		body    []byte
		code    string
		message string
		receipt *campaign.Receipt
	}{
		{"success fixture", success, "1000", "发送小程序成功", seedReceipt()},
		{"error fixture, data null", failure, "1001", "失败", nil},
		{"code as number", replace(t, success, `"1000"`, `1000`), "1000", "发送小程序成功", seedReceipt()},
		{"code as float number", replace(t, success, `"1000"`, `1000.0`), "1000", "发送小程序成功", seedReceipt()},
		{"code with exponent", replace(t, success, `"1000"`, `1e3`), "1000", "发送小程序成功", seedReceipt()},
		{"code padded", replace(t, success, `"1000"`, `" 1000 "`), "1000", "发送小程序成功", seedReceipt()},
		{"error code as number", replace(t, failure, `"1001"`, `1001`), "1001", "失败", nil},
		{"text under msg", replace(t, failure, `"message"`, `"msg"`), "1001", "失败", nil},
		{"msg preferred to message", replace(t, failure, `"message": "失败",`, `"message": "失败", "msg": "短",`), "1001", "短", nil},
		{"empty msg falls back to message", replace(t, failure, `"message": "失败",`, `"message": "失败", "msg": "",`), "1001", "失败", nil},
		{"ids as strings", replace(t, replace(t, replace(t, success,
			`7645748705605226305`, `"7645748705605226305"`),
			`697760545`, `"697760545"`),
			`1641458149`, `"1641458149"`), "1000", "发送小程序成功", seedReceipt()},
		{"data missing", []byte(`{"code":"1000","message":"ok"}`), "1000", "ok", nil},
		{"data not an object", replace(t, failure, `null`, `"none"`), "1001", "失败", nil},
		{"byte order mark", append([]byte("\ufeff"), success...), "1000", "发送小程序成功", seedReceipt()},
		{"message not a string", []byte(`{"code":1001,"message":42}`), "1001", "42", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.body)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if r.Code != tt.code || r.Message != tt.message {
				t.Errorf("code, message = %q, %q; want %q, %q", r.Code, r.Message, tt.code, tt.message)
			}
			assertReceipt(t, r.Receipt, tt.receipt)
		})
	}
}

// assertReceipt compares receipts, nil included.
func assertReceipt(tb testing.TB, got, want *campaign.Receipt) {
	tb.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		tb.Errorf("receipt = %+v, want %+v", got, want)
	case !reflect.DeepEqual(*got, *want):
		tb.Errorf("receipt = %+v, want %+v", *got, *want)
	}
}

// TestParseResponseKeepsIDsExactly: an id that does not fit an int64 is never
// rounded or dropped; its text is kept in Overflow, and the other ids are
// unaffected.
func TestParseResponseKeepsIDsExactly(t *testing.T) {
	success := readFixture(t, "seed-success-response.json")
	const newMsgID = `7645748705605226305`
	huge := strings.Repeat("9", 400)
	garbage := strings.Repeat("x", 2000)
	// overflowed is the seed receipt with newMsgId kept as text.
	overflowed := func(text string) *campaign.Receipt {
		r := seedReceipt()
		r.NewMsgID = 0
		r.Overflow = map[string]string{"newMsgId": text}
		return r
	}
	withNewMsgID := func(v int64) *campaign.Receipt {
		r := seedReceipt()
		r.NewMsgID = v
		return r
	}
	tests := []struct {
		name string
		json string // replaces newMsgId's number in the fixture
		want *campaign.Receipt
	}{
		{"2^63-1 fits", `9223372036854775807`, withNewMsgID(1<<63 - 1)},
		{"2^63", `9223372036854775808`, overflowed("9223372036854775808")},
		{"2^64-1", `18446744073709551615`, overflowed("18446744073709551615")},
		{"2^64-1 in a string", `"18446744073709551615"`, overflowed("18446744073709551615")},
		{"float notation", `7.645748705605226e18`, overflowed("7.645748705605226e18")},
		{"float notation in a string", `"7.645748705605226E+18"`, overflowed("7.645748705605226E+18")},
		{"integral float", `7645748705605226305.0`, overflowed("7645748705605226305.0")},
		{"negative fits", `-42`, withNewMsgID(-42)},
		{"negative beyond int64", `-9223372036854775809`, overflowed("-9223372036854775809")},
		{"huge", huge, overflowed(huge)},
		{"garbage string", `"` + garbage + `"`, overflowed(garbage[:maxOverflowText])},
		{"not a number", `"n/a"`, overflowed("n/a")},
		{"boolean", `true`, overflowed("true")},
		{"object", `{"hi": 1}`, overflowed(`{"hi": 1}`)},
		{"null", `null`, withNewMsgID(0)},
		{"blank string", `"  "`, withNewMsgID(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(replace(t, success, newMsgID, tt.json))
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			assertReceipt(t, r.Receipt, tt.want)
		})
	}

	// Every id overflows alone, under its own name.
	body := replace(t, replace(t, replace(t, success,
		newMsgID, `1e19`), `697760545`, `-1e400`), `1641458149`, `"1641458149.5"`)
	r, err := ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	assertReceipt(t, r.Receipt, &campaign.Receipt{WcID: "jack_623555049",
		Overflow: map[string]string{"newMsgId": "1e19", "msgId": "-1e400", "createTime": "1641458149.5"}})
}

func TestParseResponseRefuses(t *testing.T) {
	success := readFixture(t, "seed-success-response.json")
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, ErrEmptyBody},
		{"whitespace", []byte(" \r\n\t"), ErrEmptyBody},
		{"nginx 502 page", []byte(nginx502), ErrNotJSON},
		{"HTML with 200", []byte("<!DOCTYPE html><html><body>OK</body></html>"), ErrNotJSON},
		{"plain text", []byte("OK"), ErrNotJSON},
		{"truncated fixture", success[:len(success)/2], ErrNotJSON},
		{"fixture cut before last brace", bytes.TrimRight(bytes.TrimSpace(success), "}"), ErrNotJSON},
		{"array", []byte(`[{"code":"1000"}]`), ErrNotJSON},
		{"JSON string", []byte(`"1000"`), ErrNotJSON},
		{"null", []byte(`null`), ErrNotJSON},
		{"trailing garbage", append(bytes.Clone(success), "garbage"...), ErrNotJSON},
		{"two objects", append(bytes.Clone(success), success...), ErrNotJSON},
		{"no code", []byte(`{"message":"ok","data":null}`), ErrNoCode},
		{"empty object", []byte(`{}`), ErrNoCode},
		{"code null", []byte(`{"code":null}`), ErrNoCode},
		{"code empty string", []byte(`{"code":""}`), ErrNoCode},
		{"code blank string", []byte(`{"code":"  "}`), ErrNoCode},
		{"code boolean", []byte(`{"code":true}`), ErrNoCode},
		{"code object", []byte(`{"code":{"value":1000}}`), ErrNoCode},
		{"code bad escape", []byte(`{"code":"\x"}`), ErrNotJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseResponse = %+v, %v; want error %v", r, err, tt.want)
			}
		})
	}
}

func TestReadBounded(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		limit     int64
		want      string
		truncated bool
	}{
		{"under", "abc", 5, "abc", false},
		{"exactly the limit", "abcde", 5, "abcde", false},
		{"one over", "abcdef", 5, "abcde", true},
		{"far over", strings.Repeat("x", 1<<20), 8, "xxxxxxxx", true},
		{"empty", "", 5, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated, err := readBounded(strings.NewReader(tt.body), tt.limit)
			if err != nil || string(got) != tt.want || truncated != tt.truncated {
				t.Errorf("readBounded = %q, %v, %v; want %q, %v, nil", got, truncated, err, tt.want, tt.truncated)
			}
		})
	}
}

func TestStorableText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "abc", 10, "abc"},
		{"NUL removed", "a\x00b", 10, "ab"},
		{"invalid UTF-8 replaced", "a\xffb", 10, "a\uFFFDb"},
		{"cut on a character boundary", "失败失败", 7, "失败"},
		{"character split by a byte limit", "失败"[:4], 4, "失"},
		{"zero", "abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := storableText([]byte(tt.in), tt.max)
			if got != tt.want {
				t.Errorf("storableText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || len(got) > tt.max {
				t.Errorf("storableText(%q, %d) = %q: not storable", tt.in, tt.max, got)
			}
		})
	}
}
