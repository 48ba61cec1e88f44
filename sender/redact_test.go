package sender

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestRedactToken(t *testing.T) {
	const tok = "ab/c\"d<é😀"
	tests := []struct {
		name, in, want string
	}{
		{"raw", `x ab/c"d<é😀 y`, `x [redacted] y`},
		{"solidus escaped", `{"m":"ab\/c\"d<é😀"}`, `{"m":"[redacted]"}`},
		{"every character \\u-escaped, lower hex", `{"m":"t=\u0061\u0062\u002f\u0063\u0022\u0064\u003c\u00e9\ud83d\ude00!"}`, `{"m":"t=[redacted]!"}`},
		{"upper hex", `{"m":"\u0061\u0062\u002F\u0063\u0022\u0064\u003C\u00E9\uD83D\uDE00"}`, `{"m":"[redacted]"}`},
		{"mixed, in a key", `{"ab\/c\u0022d\u003cé😀 ":1}`, `{"[redacted] ":1}`},
		{"twice, adjacent", `{"m":"ab\/c\"d<é😀ab/c\"d\u003Cé😀"}`, `{"m":"[redacted]"}`},
		{"a lone surrogate is not the emoji", `{"m":"ab\/c\"d<é\ud83d"}`, `{"m":"ab\/c\"d<é\ud83d"}`},
		{"an escaped backslash is not an escape", `{"m":"ab\\/c\"d<é😀"}`, `{"m":"ab\\/c\"d<é😀"}`},
		{"not the token", `{"m":"ab\/c\"d<e😀"}`, `{"m":"ab\/c\"d<e😀"}`},
		{"no token", `{"code":"1001","msg":"失败"}`, `{"code":"1001","msg":"失败"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactToken(tt.in, tok); got != tt.want {
				t.Errorf("redactToken(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestRedactTokenDegenerate: a token the replacement text itself spells
// cannot be replaced; nothing is kept rather than the token.
func TestRedactTokenDegenerate(t *testing.T) {
	for _, tok := range []string{"dacted", "]x", "[redacted]"} {
		for _, in := range []string{"x" + tok + "x", `\u0078` + tok, "]xx"} {
			if got := redactToken(in, tok); strings.Contains(got, tok) {
				t.Errorf("redactToken(%q, %q) = %q", in, tok, got)
			}
		}
	}
}

// TestRedactTokenProperty: for random tokens echoed with random escape
// choices in values and keys, the redacted answer is still JSON and no
// string in it, decoded by encoding/json, contains the token.
func TestRedactTokenProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 7))
	for i := range 3000 {
		token := randomText(rng, 8+rng.IntN(32))
		body := echoBody(rng, token)
		out := redactToken(body, token)
		if !strings.Contains(token, `"`) && !json.Valid([]byte(out)) {
			t.Fatalf("case %d: token %q: redacting %s gave invalid JSON %s", i, token, body, out)
		}
		checkNoToken(t, out, token)
		if t.Failed() {
			t.Fatalf("case %d: token %q, body %s", i, token, body)
		}
	}
}

// FuzzRedactToken checks the same property for tokens and escape choices the
// fuzzer picks.
//
//	go test ./sender -run XXX -fuzz FuzzRedactToken -fuzztime 60s
func FuzzRedactToken(f *testing.F) {
	f.Add("tok-3f9a1c77-SECRET-e2b4", uint64(1))
	f.Add("a/b\"c\\d\te😀\u2028", uint64(2))
	f.Add("\u00e9\u00e9\u00e9", uint64(3))
	f.Fuzz(func(t *testing.T, token string, seed uint64) {
		if token == "" || !utf8.ValidString(token) {
			return
		}
		body := echoBody(rand.New(rand.NewPCG(seed, seed)), token)
		checkNoToken(t, redactToken(body, token), token)
	})
}

// checkNoToken fails if s contains token as written or, when s is JSON, in
// any string once decoded.
func checkNoToken(t *testing.T, s, token string) {
	t.Helper()
	if strings.Contains(s, token) {
		t.Errorf("token %q in %s", token, s)
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return
	}
	for _, str := range jsonStrings(v) {
		if strings.Contains(str, token) {
			t.Errorf("token %q in the string %q of %s", token, str, s)
		}
	}
}

// jsonStrings lists every string of a decoded JSON value, keys included.
func jsonStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, jsonStrings(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for k, e := range v {
			out = append(append(out, k), jsonStrings(e)...)
		}
		return out
	}
	return nil
}

// echoBody is an API answer that echoes token, each time spelt with random
// escapes, in a message, twice in a row, and as a key.
func echoBody(rng *rand.Rand, token string) string {
	text := func() string { return escapeRandomly(rng, randomText(rng, rng.IntN(6))) }
	tok := func() string { return escapeRandomly(rng, token) }
	return fmt.Sprintf(`{"code":"1003","msg":"%s%s%s","data":{"%s":"%s%s%s"}}`,
		text(), tok(), text(), tok(), tok(), tok(), text())
}

// alphabet mixes what JSON escapes (quote, backslash, controls), what some
// encoders escape (/, <, >, &, U+2028) and what needs UTF-8 or a surrogate
// pair.
var alphabet = []rune("aZ09-_.~+=/\\\"<>& \t\n\u00e9\u4e2d\u2028\U0001F600\U00010000")

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteRune(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

// escapeRandomly writes s as JSON string contents, choosing for each
// character at random among the spellings JSON allows: raw where allowed, a
// two-character escape where one exists, \u escapes in lower, upper or mixed
// case hex (a surrogate pair beyond the BMP).
func escapeRandomly(rng *rand.Rand, s string) string {
	var b strings.Builder
	for _, r := range s {
		short := map[rune]string{'"': `\"`, '\\': `\\`, '/': `\/`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}[r]
		switch choice := rng.IntN(4); {
		case choice == 0 && r >= 0x20 && r != '"' && r != '\\':
			b.WriteRune(r)
		case choice == 1 && short != "":
			b.WriteString(short)
		default:
			units := []rune{r}
			if r > 0xFFFF {
				hi, lo := utf16.EncodeRune(r)
				units = []rune{hi, lo}
			}
			for _, u := range units {
				hex := []byte(fmt.Sprintf("%04x", u))
				for i, c := range hex {
					if rng.IntN(2) == 0 {
						hex[i] = byte(strings.ToUpper(string(c))[0])
					}
				}
				b.WriteString(`\u` + string(hex))
			}
		}
	}
	return b.String()
}
