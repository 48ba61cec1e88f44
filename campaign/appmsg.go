package campaign

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxContentBytes caps a template's content. Real applet messages are a few
// kilobytes; anything far larger is a paste gone wrong, not an applet.
const MaxContentBytes = 256 << 10

// What can be wrong with a template. Every *TemplateError wraps one of these,
// so callers decide with errors.Is and never by reading messages.
var (
	// ErrContentEmpty: the content is empty or only whitespace.
	ErrContentEmpty = errors.New("content is empty")
	// ErrContentTooLarge: the content is over MaxContentBytes.
	ErrContentTooLarge = errors.New("content is too large")
	// ErrNotWellFormed: the content is not well-formed XML.
	ErrNotWellFormed = errors.New("content is not well-formed XML")
	// ErrJSONEscaped: the content was copied out of a JSON string, with
	// \" and \n written out; it is reported instead of being unescaped
	// silently, because a guess would change what is sent.
	ErrJSONEscaped = errors.New("content looks JSON-escaped")
	// ErrNoAppMsg: well-formed XML without an <appmsg> element.
	ErrNoAppMsg = errors.New("content has no <appmsg> element")
	// ErrManyAppMsg: more than one <appmsg> element, so which one to send
	// is a guess.
	ErrManyAppMsg = errors.New("content has more than one <appmsg> element")
	// ErrUnknownPlaceholder: a {{…}} that is not one of SPEC §4's names.
	ErrUnknownPlaceholder = errors.New("unknown placeholder")
	// ErrImgURL: img_url is not an absolute http(s) URL.
	ErrImgURL = errors.New("img_url is not an absolute http(s) URL")
)

// TemplateError is a problem with a template's content or img_url. Its
// message says what is wrong and where (line and column, in characters, of
// the content as stored), in words an operator can act on; it is stored in
// campaigns.error when the campaign is marked invalid.
type TemplateError struct {
	// Kind is one of the Err… values above.
	Kind error
	// Line and Column locate the problem in the content as stored, both
	// from 1; zero when the problem has no place (empty, too large, img_url).
	Line, Column int
	msg          string
}

func (e *TemplateError) Error() string { return e.msg }

// Unwrap returns Kind, for errors.Is.
func (e *TemplateError) Unwrap() error { return e.Kind }

// groupPrefix is what WeChat puts before a group message's XML in callbacks:
// the sender's wcId, a colon and a newline.
var groupPrefix = regexp.MustCompile(`^[^<\s:]+:[ \t]*\r?\n`)

// ExtractAppMsg returns the <appmsg> element of content byte for byte as it
// is written, whether content is the bare element or a whole callback message
// (<msg>…<appmsg>…</appmsg>…</msg>, with or without an XML declaration, a
// byte order mark or a group sender prefix, surrounded by whitespace).
// Nothing is re-serialised, so attributes, entities, CDATA and whitespace
// reach the API exactly as the operator pasted them.
//
// content must be one well-formed XML document with exactly one outermost
// <appmsg> element, at any depth (an <appmsg> inside it belongs to it).
// Text that merely reads "<appmsg>" — in CDATA, a comment, an attribute — is
// not an element. Errors are *TemplateError.
func ExtractAppMsg(content string) (string, error) {
	start, end, err := locateAppMsg(content)
	if err != nil {
		return "", err
	}
	return content[start:end], nil
}

// locateAppMsg is ExtractAppMsg returning the element's byte range.
func locateAppMsg(content string) (start, end int, err error) {
	if len(content) > MaxContentBytes {
		return 0, 0, templateErr(ErrContentTooLarge, 0, 0,
			"content is %d bytes, more than the %d allowed: store the <appmsg> element only", len(content), MaxContentBytes)
	}
	// base is where the XML starts in content, so that positions are
	// reported in the content as the operator stored it.
	doc := strings.TrimPrefix(content, "\uFEFF")
	doc = strings.TrimLeft(doc, " \t\r\n")
	if m := groupPrefix.FindString(doc); m != "" {
		doc = strings.TrimLeft(doc[len(m):], " \t\r\n")
	}
	base := len(content) - len(doc)
	if strings.TrimSpace(doc) == "" {
		return 0, 0, templateErr(ErrContentEmpty, 0, 0, "content is empty: paste the <appmsg> element or the whole callback message")
	}
	spans, err := scanXML(content, base)
	if err != nil {
		return 0, 0, err
	}
	return findAppMsg(content, spans)
}

// spanKind is what a stretch of an XML document is.
type spanKind uint8

const (
	spanText      spanKind = iota // character data outside CDATA
	spanCDATA                     // a <![CDATA[…]]> section
	spanStart                     // a start tag, or the whole of an empty-element tag
	spanEnd                       // an end tag; empty for an empty-element tag
	spanComment                   // <!--…-->
	spanProcInst                  // <?…?>
	spanDirective                 // <!DOCTYPE…> and the like
)

// span is one token of a document and its byte range.
type span struct {
	kind       spanKind
	start, end int
}

// scanXML checks that doc[base:] is one well-formed XML document and returns
// its tokens' byte ranges (offsets into doc). Beyond what encoding/xml checks
// in strict mode, it requires a single root element, no text outside it, an
// XML declaration only at the start, no directive inside an element, and no
// attribute given twice. Positions in its errors are reported in doc.
func scanXML(doc string, base int) ([]span, error) {
	dec := xml.NewDecoder(strings.NewReader(doc[base:]))
	dec.Strict = true
	// The stored text is UTF-8 whatever the declaration says (a callback's
	// XML often declares another encoding); offsets must stay byte offsets
	// of that text, so nothing is converted.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var (
		spans   []span
		open    []int // start offsets of the elements not yet closed
		roots   int
		appRoot bool // the first root element is an appmsg
	)
	fail := func(off int, format string, args ...any) error {
		if at := jsonEscapedAt(doc[base:]); at >= 0 {
			return jsonEscapedErr(doc, base+at)
		}
		line, col := position(doc, base+off)
		return templateErr(ErrNotWellFormed, line, col, "content is not well-formed XML at line %d, column %d: %s",
			line, col, fmt.Sprintf(format, args...))
	}
	for {
		off := int(dec.InputOffset())
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			at := int(dec.InputOffset())
			if at >= len(doc)-base && len(open) > 0 {
				line, col := position(doc, base+open[len(open)-1])
				return nil, fail(at, "the element opened at line %d, column %d is never closed", line, col)
			}
			return nil, fail(at, "%s", syntaxMsg(err))
		}
		end := int(dec.InputOffset())
		s := span{start: base + off, end: base + end}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(open) == 0 {
				roots++
				app := isAppMsgTag(doc[s.start:])
				if roots == 1 {
					appRoot = app
				} else if !app || !appRoot {
					// Two appmsg elements side by side pass, for findAppMsg
					// to say so rather than "two roots".
					return nil, fail(off, "a second root element <%s> after the first one ended; a document has one root", rawName(doc[s.start:]))
				}
			}
			if name, dup := duplicateAttr(t.Attr); dup {
				return nil, fail(off, "attribute %s given twice in <%s>", name, rawName(doc[s.start:]))
			}
			s.kind = spanStart
			open = append(open, off)
		case xml.EndElement:
			s.kind = spanEnd
			open = open[:len(open)-1]
		case xml.CharData:
			s.kind = spanText
			if strings.HasPrefix(doc[s.start:], "<![CDATA[") {
				s.kind = spanCDATA
			}
			// XML's white space is these four only: a no-break space
			// outside the root is text, and not well-formed.
			if raw := doc[s.start:s.end]; len(open) == 0 && (s.kind == spanCDATA || strings.Trim(raw, " \t\r\n") != "") {
				off += len(raw) - len(strings.TrimLeft(raw, " \t\r\n"))
				return nil, fail(off, "text outside the root element; only the XML (an <appmsg> element or a whole <msg>) may be stored")
			}
		case xml.Comment:
			s.kind = spanComment
		case xml.ProcInst:
			s.kind = spanProcInst
			if t.Target == "xml" && off != 0 {
				return nil, fail(off, "the XML declaration <?xml …?> must come first")
			}
		case xml.Directive:
			s.kind = spanDirective
			if len(open) > 0 {
				return nil, fail(off, "a <!…> declaration inside an element")
			}
		}
		spans = append(spans, s)
	}
	if roots == 0 {
		return nil, templateErr(ErrNoAppMsg, 0, 0, "content has no <appmsg> element (no element at all): paste the <appmsg> element or the whole callback message")
	}
	return spans, nil
}

// findAppMsg returns the byte range of the one outermost appmsg element in a
// scanned document.
func findAppMsg(doc string, spans []span) (start, end int, err error) {
	var found []int // start offsets of outermost appmsg elements
	depth, appDepth := 0, -1
	start, end = -1, -1
	for _, s := range spans {
		switch s.kind {
		case spanStart:
			depth++
			if appDepth < 0 && isAppMsgTag(doc[s.start:]) {
				appDepth = depth
				found = append(found, s.start)
				if len(found) == 1 {
					start = s.start
				}
			}
		case spanEnd:
			if depth == appDepth {
				if len(found) == 1 {
					end = s.end
				}
				appDepth = -1
			}
			depth--
		case spanText:
			if jsonEscapedText(doc[s.start:s.end]) {
				raw := doc[s.start:s.end]
				return 0, 0, jsonEscapedErr(doc, s.start+len(raw)-len(strings.TrimLeft(raw, " \t\r\n")))
			}
		}
	}
	switch {
	case len(found) == 0:
		root := ""
		for _, s := range spans {
			if s.kind == spanStart {
				root = rawName(doc[s.start:])
				break
			}
		}
		return 0, 0, templateErr(ErrNoAppMsg, 0, 0,
			"content has no <appmsg> element (its root element is <%s>): paste the <appmsg> element or the whole callback message", root)
	case len(found) > 1:
		l1, c1 := position(doc, found[0])
		l2, c2 := position(doc, found[1])
		return 0, 0, templateErr(ErrManyAppMsg, l2, c2,
			"content has %d <appmsg> elements, at line %d, column %d and line %d, column %d: keep only the one to send",
			len(found), l1, c1, l2, c2)
	}
	return start, end, nil
}

// isAppMsgTag reports whether s starts with an appmsg start tag: the name
// exactly, without a namespace prefix.
func isAppMsgTag(s string) bool {
	rest, ok := strings.CutPrefix(s, "<appmsg")
	if !ok || rest == "" {
		return false
	}
	switch rest[0] {
	case '>', '/', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// rawName returns the element name of the tag s starts with, as written.
func rawName(s string) string {
	s = strings.TrimPrefix(s, "<")
	if i := strings.IndexAny(s, " \t\r\n/>"); i >= 0 {
		s = s[:i]
	}
	return s
}

// duplicateAttr reports an attribute named twice in one start tag, which XML
// forbids and encoding/xml lets through.
func duplicateAttr(attrs []xml.Attr) (string, bool) {
	for i := range attrs {
		for j := range i {
			if attrs[i].Name == attrs[j].Name {
				name := attrs[i].Name.Local
				if attrs[i].Name.Space != "" {
					name = attrs[i].Name.Space + ":" + name
				}
				return name, true
			}
		}
	}
	return "", false
}

// jsonEscapedErr explains ErrJSONEscaped and how to repair such a template
// with SQL: decoding the text as a JSON string undoes exactly the escaping.
func jsonEscapedErr(doc string, off int) error {
	line, col := position(doc, off)
	return templateErr(ErrJSONEscaped, line, col,
		`content looks JSON-escaped at line %d, column %d (\" and \n written out, as in a JSON request body): `+
			`store the XML itself; to decode it: UPDATE applet_templates SET content = ('"' || content || '"')::json #>> '{}' WHERE …`,
		line, col)
}

// jsonEscapedAt returns where doc first shows the marks of text copied out
// of a JSON string — a quote before the first tag, an escaped quote in a tag,
// \n, \t or \r right after a tag, an escaped slash in an end tag — or -1.
func jsonEscapedAt(doc string) int {
	if strings.HasPrefix(doc, `"<`) {
		return 0
	}
	at := -1
	for _, mark := range []string{`=\"`, `>\n`, `>\t`, `>\r`, `<\/`} {
		if i := strings.Index(doc, mark); i >= 0 && (at < 0 || i+1 < at) {
			at = i + 1 // the backslash
		}
	}
	return at
}

// jsonEscapedText reports whether the character data between two tags is
// nothing but JSON escapes of whitespace (`\n\t\t`): well-formed, but it
// would reach the recipient's WeChat as literal backslashes.
func jsonEscapedText(raw string) bool {
	escapes := 0
	for _, esc := range []string{`\n`, `\t`, `\r`} {
		escapes += strings.Count(raw, esc)
		raw = strings.ReplaceAll(raw, esc, "")
	}
	return escapes > 0 && strings.TrimSpace(raw) == ""
}

// position turns a byte offset into a line and a column, both from 1; the
// column counts characters, so it matches what an editor shows for Chinese
// text.
func position(s string, off int) (line, col int) {
	off = min(max(off, 0), len(s))
	before := s[:off]
	line = 1 + strings.Count(before, "\n")
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}

func templateErr(kind error, line, col int, format string, args ...any) *TemplateError {
	return &TemplateError{Kind: kind, Line: line, Column: col, msg: fmt.Sprintf(format, args...)}
}

func syntaxMsg(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}
