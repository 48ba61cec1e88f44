package campaign

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// MaxContentBytes caps a template's content. Real applet messages are a few
// kilobytes; anything far larger is a paste gone wrong, not an applet.
const MaxContentBytes = 256 << 10

// groupPrefix is what WeChat puts before a group message's XML in callbacks:
// the sender's wcId, a colon and a newline.
var groupPrefix = regexp.MustCompile(`^[^<\s:]+:\s*\n`)

// ExtractAppMsg returns the <appmsg> element of content byte for byte as it
// is written, whether content is the bare element or a whole callback message
// (<msg>…<appmsg>…</appmsg>…</msg>, with or without an XML declaration or a
// group sender prefix). Nothing is re-serialised, so attributes, entities,
// CDATA and whitespace reach the API exactly as the operator pasted them.
func ExtractAppMsg(content string) (string, error) {
	if len(content) > MaxContentBytes {
		return "", fmt.Errorf("content is %d bytes, more than the %d allowed", len(content), MaxContentBytes)
	}
	doc := strings.TrimPrefix(content, "\uFEFF")
	doc = groupPrefix.ReplaceAllString(strings.TrimLeft(doc, " \t\r\n"), "")
	if strings.TrimSpace(doc) == "" {
		return "", errors.New("content is empty")
	}
	start, end, err := findAppMsg(doc)
	if err != nil {
		return "", err
	}
	return doc[start:end], nil
}

// findAppMsg checks that doc is well-formed XML and returns the byte range of
// its first appmsg element.
func findAppMsg(doc string) (start, end int, err error) {
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	start, end = -1, -1
	depth, appDepth := 0, -1
	for {
		off := int(dec.InputOffset())
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col := dec.InputPos()
			return 0, 0, fmt.Errorf("content is not well-formed XML at line %d, column %d: %s", line, col, syntaxMsg(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if t.Name.Local == "appmsg" && start < 0 {
				start, appDepth = off, depth
			}
		case xml.EndElement:
			if depth == appDepth && end < 0 {
				end = int(dec.InputOffset())
			}
			depth--
		}
	}
	if start < 0 {
		return 0, 0, errors.New("content has no <appmsg> element")
	}
	return start, end, nil
}

func syntaxMsg(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}
