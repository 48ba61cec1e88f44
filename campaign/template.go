package campaign

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Placeholder names a value filled per delivery (SPEC §4).
type Placeholder string

// The placeholders a template may use.
const (
	PlaceholderWcID       Placeholder = "wcId"
	PlaceholderCampaignID Placeholder = "campaignId"
	PlaceholderRunID      Placeholder = "runId"
	PlaceholderDeliveryID Placeholder = "deliveryId"
	PlaceholderDate       Placeholder = "date"
)

// Placeholders lists every placeholder a template may use, for messages and
// documentation that must not drift from the code.
func Placeholders() []Placeholder {
	return []Placeholder{PlaceholderWcID, PlaceholderCampaignID, PlaceholderRunID, PlaceholderDeliveryID, PlaceholderDate}
}

func knownPlaceholder(name string) bool {
	for _, p := range Placeholders() {
		if string(p) == name {
			return true
		}
	}
	return false
}

// knownList is the known placeholders as an operator writes them.
func knownList() string {
	var b strings.Builder
	for i, p := range Placeholders() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{{" + string(p) + "}}")
	}
	return b.String()
}

// suggest names the known placeholder an unknown one probably meant (the
// same name in another case, as in {{wcid}}), or "".
func suggest(name string) string {
	for _, p := range Placeholders() {
		if strings.EqualFold(string(p), name) {
			return "{{" + string(p) + "}}"
		}
	}
	return ""
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// Values are what placeholders are filled with for one delivery.
type Values struct {
	WcID       string
	CampaignID int64
	RunID      int64
	DeliveryID int64
	Date       string // the run's date, YYYY-MM-DD, in the scheduler's time zone
}

func (v Values) get(p Placeholder) string {
	switch p {
	case PlaceholderWcID:
		return v.WcID
	case PlaceholderCampaignID:
		return strconv.FormatInt(v.CampaignID, 10)
	case PlaceholderRunID:
		return strconv.FormatInt(v.RunID, 10)
	case PlaceholderDeliveryID:
		return strconv.FormatInt(v.DeliveryID, 10)
	case PlaceholderDate:
		return v.Date
	}
	return ""
}

// escaping says how a value is made safe where its placeholder stands.
type escaping uint8

const (
	escapeNone  escaping = iota // a segment without placeholder
	escapeText                  // XML character data or an attribute value
	escapeCDATA                 // inside <![CDATA[…]]>
	escapeQuery                 // img_url
)

// segment is literal text followed by an optional placeholder.
type segment struct {
	text   string
	name   Placeholder // "" for none
	escape escaping
}

// Prepared is a template validated and split at its placeholders once per
// run, so that rendering for each delivery is a cheap concatenation.
type Prepared struct {
	content, imgURL       []segment
	contentLen, imgURLLen int // bytes of literal text, to size the output
}

// Prepare validates a template — applet XML with one <appmsg> element, an
// absolute http(s) cover URL, known placeholders only — and prepares it for
// rendering. Its errors are *TemplateError, and say what is wrong and where
// in words an operator can act on.
//
// Placeholders are filled in character data, CDATA sections and attribute
// values, each escaped for where it stands, so a rendered template is
// well-formed whatever the values. In comments and processing instructions
// {{…}} is left as written: nothing reads it there, and filling it could
// end the comment early.
func Prepare(t Template) (*Prepared, error) {
	offset, end, err := locateAppMsg(t.Content)
	if err != nil {
		return nil, err
	}
	appmsg := t.Content[offset:end]
	// The element is well-formed on its own: it was checked in place, and
	// it uses no entity that the document around it declared (strict mode
	// knows none).
	spans, err := scanXML(appmsg, 0)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	p := &Prepared{}
	if p.content, err = splitXML(appmsg, spans, t.Content, offset); err != nil {
		return nil, err
	}
	imgURL := strings.TrimSpace(t.ImgURL)
	if p.imgURL, err = splitURL(imgURL); err != nil {
		return nil, err
	}
	p.contentLen, p.imgURLLen = literalLen(p.content), literalLen(p.imgURL)
	sample := Values{WcID: "wxid_sample", CampaignID: 1, RunID: 1, DeliveryID: 1, Date: "2006-01-02"}
	if err := checkImgURL(imgURL, render(p.imgURL, p.imgURLLen, sample)); err != nil {
		return nil, err
	}
	return p, nil
}

// Render fills the template for one delivery.
func (p *Prepared) Render(v Values) (imgURL, content string) {
	return render(p.imgURL, p.imgURLLen, v), render(p.content, p.contentLen, v)
}

func render(segs []segment, literal int, v Values) string {
	if len(segs) == 1 && segs[0].name == "" {
		return segs[0].text
	}
	var b strings.Builder
	b.Grow(literal + 32*(len(segs)-1))
	for _, s := range segs {
		b.WriteString(s.text)
		if s.name == "" {
			continue
		}
		val := v.get(s.name)
		switch s.escape {
		case escapeText:
			writeXMLText(&b, val)
		case escapeCDATA:
			writeCDATA(&b, val)
		case escapeQuery:
			b.WriteString(url.QueryEscape(val))
		}
	}
	return b.String()
}

func literalLen(segs []segment) int {
	n := 0
	for _, s := range segs {
		n += len(s.text)
	}
	return n
}

// splitXML cuts a scanned appmsg element at the placeholders in its
// character data, CDATA sections and tags (where, in a well-formed tag, {{
// can only stand in an attribute value). Positions in errors are reported
// in stored, where the element starts at offset.
func splitXML(appmsg string, spans []span, stored string, offset int) ([]segment, error) {
	var segs []segment
	last := 0
	for _, s := range spans {
		var esc escaping
		switch s.kind {
		case spanText, spanStart:
			esc = escapeText
		case spanCDATA:
			esc = escapeCDATA
		default:
			continue // comments, processing instructions, end tags
		}
		for _, m := range placeholderRE.FindAllStringSubmatchIndex(appmsg[s.start:s.end], -1) {
			at, stop := s.start+m[0], s.start+m[1]
			name := appmsg[s.start+m[2] : s.start+m[3]]
			if !knownPlaceholder(name) {
				line, col := position(stored, offset+at)
				return nil, unknownPlaceholder("content", appmsg[at:stop], name, line, col)
			}
			segs = append(segs, segment{text: appmsg[last:at], name: Placeholder(name), escape: esc})
			last = stop
		}
	}
	return append(segs, segment{text: appmsg[last:]}), nil
}

// splitURL cuts img_url at its placeholders.
func splitURL(s string) ([]segment, error) {
	var segs []segment
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
		name := s[m[2]:m[3]]
		if !knownPlaceholder(name) {
			return nil, unknownPlaceholder("img_url", s[m[0]:m[1]], name, 0, 0)
		}
		segs = append(segs, segment{text: s[last:m[0]], name: Placeholder(name), escape: escapeQuery})
		last = m[1]
	}
	return append(segs, segment{text: s[last:]}), nil
}

func unknownPlaceholder(field, written, name string, line, col int) error {
	where := ""
	if line > 0 {
		where = fmt.Sprintf(" at line %d, column %d", line, col)
	}
	hint := "known: " + knownList()
	if s := suggest(name); s != "" {
		hint = "did you mean " + s + "? (names are case-sensitive)"
	}
	return templateErr(ErrUnknownPlaceholder, line, col, "%s: unknown placeholder %s%s (%s)", field, written, where, hint)
}

// writeXMLText writes s escaped for XML character data and for attribute
// values in either quote: & < > " ' and the whitespace an attribute value
// would otherwise normalise become references; characters XML cannot hold
// become U+FFFD.
func writeXMLText(b *strings.Builder, s string) {
	if plainXML(s) {
		b.WriteString(s)
		return
	}
	_ = xml.EscapeText(b, []byte(s)) // a strings.Builder never fails
}

// plainXML reports whether s needs no escaping at all, the common case of
// wcIds, ids and dates.
func plainXML(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			return false // checked the slow way
		case c < 0x20, c == '&', c == '<', c == '>', c == '"', c == '\'':
			return false
		}
	}
	return true
}

// writeCDATA writes s for the inside of a CDATA section, where references
// are not decoded: "]]>" would end the section, so the section is closed
// after "]]" and reopened before ">"; a carriage return, which a reader
// would turn into a newline there, is written as a reference between two
// sections; characters XML cannot hold become U+FFFD.
func writeCDATA(b *strings.Builder, s string) {
	if plainXML(s) {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case strings.HasPrefix(s[i:], "]]>"):
			b.WriteString("]]]]><![CDATA[>")
			size = 3
		case r == '\r':
			b.WriteString("]]>&#xD;<![CDATA[")
		case !isXMLChar(r) || r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// checkImgURL checks img_url as rendered with sample values; messages quote
// it as written.
func checkImgURL(written, rendered string) error {
	if written == "" {
		return templateErr(ErrImgURL, 0, 0, "img_url is empty: set it to the cover image's absolute http(s) URL (png or jpeg under 50 KB)")
	}
	u, err := url.Parse(rendered)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return templateErr(ErrImgURL, 0, 0, "img_url %q is not an absolute http(s) URL", written)
	}
	return nil
}
