package sender

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// redacted replaces the API token wherever it would otherwise be reported.
const redacted = "[redacted]"

// redactToken replaces every spelling of token in s with redacted: the token
// as written, and the token as a JSON string may spell it, with any of its
// characters escaped (\/, \", \n, \u002F or \u002f, a surrogate pair, …). A
// provider or proxy that echoes the Authorization header into a JSON answer
// escapes it as its encoder sees fit, and the answer is stored for audit.
//
// s is read as if it were the contents of one JSON string: inside a JSON
// document's strings that is exactly how a decoder reads them, and outside
// them a valid document has no backslash, so the token is found in every
// string that decodes to contain it, keys included. Each match is replaced
// whole, escapes and all, so a valid document stays valid. In the unlikely
// case that the result still spells the token (a token that overlaps the
// replacement text), the whole of s is replaced.
func redactToken(s, token string) string {
	if token == "" {
		return s
	}
	out := replaceSpans(s, tokenSpans(s, token))
	switch {
	case !spellsToken(out, token):
		return out
	case !spellsToken(redacted, token):
		return redacted
	default: // the token is part of the replacement text itself
		return ""
	}
}

// span is a byte range [start, end) of the text being redacted.
type span struct{ start, end int }

// tokenSpans returns where s spells token, raw or escaped, in order of start.
func tokenSpans(s, token string) []span {
	var spans []span
	for _, i := range indexAll(s, token) {
		spans = append(spans, span{i, i + len(token)})
	}
	if !needsDecoding(s) {
		return spans
	}
	d := decodeEscapes(s)
	for _, i := range indexAll(string(d.text), token) {
		spans = append(spans, span{int(d.src[i]), d.unitEnd(i + len(token) - 1)})
	}
	return spans
}

// spellsToken reports whether s contains token, raw or once JSON escapes
// are decoded.
func spellsToken(s, token string) bool {
	if strings.Contains(s, token) {
		return true
	}
	return needsDecoding(s) && strings.Contains(string(decodeEscapes(s).text), token)
}

// needsDecoding reports whether decoding could change s: it holds an escape
// or bytes that a JSON decoder turns into U+FFFD.
func needsDecoding(s string) bool {
	return strings.Contains(s, `\`) || !utf8.ValidString(s)
}

// indexAll returns the start of every occurrence of sub in s, leftmost
// first, not overlapping: replacing them leaves no whole occurrence, since
// one that overlaps a match is cut by its replacement.
func indexAll(s, sub string) []int {
	var at []int
	for off := 0; ; {
		i := strings.Index(s[off:], sub)
		if i < 0 {
			return at
		}
		at = append(at, off+i)
		off += i + len(sub)
	}
}

// replaceSpans replaces each span of s, overlapping ones merged, with
// redacted.
func replaceSpans(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	next := 0 // s[:next] is written or replaced
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].start <= cur.end; i++ {
			cur.end = max(cur.end, spans[i].end)
		}
		b.WriteString(s[next:cur.start])
		b.WriteString(redacted)
		next = cur.end
	}
	b.WriteString(s[next:])
	return b.String()
}

// decoded is text with its JSON escapes decoded, and for each byte of it the
// offset in the original text of the escape or character it came from.
type decoded struct {
	text []byte
	src  []int32
	n    int // length of the original text
}

// unitEnd returns the end, in the original text, of the escape or character
// that decoded byte i came from.
func (d decoded) unitEnd(i int) int {
	for j := i + 1; j < len(d.src); j++ {
		if d.src[j] != d.src[i] {
			return int(d.src[j])
		}
	}
	return d.n
}

// decodeEscapes decodes s the way encoding/json decodes a string's contents:
// the escapes \" \\ \/ \b \f \n \r \t and \uXXXX (hex in either case, a
// surrogate pair as one character, a lone surrogate as U+FFFD), and invalid
// UTF-8 as U+FFFD. A backslash that starts no valid escape stands for
// itself. Offsets are int32: s is a response body, at most
// MaxMaxResponseBytes long.
func decodeEscapes(s string) decoded {
	d := decoded{text: make([]byte, 0, len(s)), src: make([]int32, 0, len(s)), n: len(s)}
	emit := func(from int, text string) {
		d.text = append(d.text, text...)
		for range len(text) {
			d.src = append(d.src, int32(from))
		}
	}
	for i := 0; i < len(s); {
		start := i
		if s[i] == '\\' && i+1 < len(s) {
			if c, ok := shortEscape(s[i+1]); ok {
				emit(start, string(rune(c)))
				i += 2
				continue
			}
			if r, ok := hex4(s[i+1:]); ok {
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := lowHalf(s[i:])
					if pair := utf16.DecodeRune(r, r2); ok && pair != utf8.RuneError {
						r = pair
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				emit(start, string(r))
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			emit(start, string(utf8.RuneError))
		} else {
			emit(start, s[i:i+size])
		}
		i += size
	}
	return d
}

// shortEscape decodes the character after a backslash in a two-character
// JSON escape.
func shortEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// lowHalf decodes the \uXXXX escape that may follow a high surrogate.
func lowHalf(s string) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' {
		return 0, false
	}
	return hex4(s[1:])
}

// hex4 decodes "uXXXX" at the start of s (the part of a \u escape after the
// backslash).
func hex4(s string) (rune, bool) {
	if len(s) < 5 || s[0] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[1:5]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
