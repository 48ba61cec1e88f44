package campaign

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// seedAppMsg reads the provider's applet XML, verbatim.
func seedAppMsg(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/provider/seed-appmsg.xml")
	if err != nil {
		t.Fatalf("read seed fixture: %v", err)
	}
	return strings.TrimRight(string(b), "\n")
}

// seedJSONContent returns the "content" value of the provider's request
// example as written in the JSON file, escapes and all: what an operator
// gets by copying it out of the page.
func seedJSONContent(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/provider/seed-request.json")
	if err != nil {
		t.Fatalf("read request fixture: %v", err)
	}
	m := regexp.MustCompile(`(?s)"content": "(.*)"\s*}\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no content in seed-request.json")
	}
	return string(m[1])
}

// wrappings are the ways operators paste an applet: the seed wrapped as a
// callback message in every form seen, keyed by a name for subtests.
func wrappings(seed string) map[string]string {
	return map[string]string{
		"bare":              seed,
		"surrounding space": "\n\n  " + seed + "\n\t ",
		"callback message":  "<msg>" + seed + "<fromusername>wxid_a</fromusername><scene>0</scene></msg>",
		"with declaration":  `<?xml version="1.0"?>` + "\n<msg>\n\t" + seed + "\n</msg>\n",
		"declared gbk":      `<?xml version="1.0" encoding="GBK"?>` + "\n<msg>" + seed + "</msg>",
		"group prefix":      "wxid_sender123:\n<?xml version=\"1.0\"?>\n<msg>" + seed + "</msg>",
		"chatroom prefix":   "12345678@chatroom: \r\n<msg>" + seed + "</msg>",
		"byte order mark":   "\uFEFF<msg>" + seed + "</msg>",
		"crlf":              "<?xml version=\"1.0\"?>\r\n<msg>\r\n" + seed + "\r\n</msg>\r\n",
		"nested deeper":     "<msg><outer><inner>" + seed + "</inner></outer></msg>",
		"comments around":   "<!-- pasted 2026-01-02 --><msg><!-- <appmsg>old</appmsg> -->" + seed + "<!-- end --></msg><!-- bye -->",
		"cdata mentions it": "<msg><note><![CDATA[<appmsg>not this</appmsg>]]></note>" + seed + "</msg>",
		"attribute text":    `<msg hint="&lt;appmsg&gt;">` + seed + "</msg>",
		"doctype":           "<!DOCTYPE msg>\n<msg>" + seed + "</msg>",
		"appmsg-like names": "<msg><appmsgx/><x:appmsg xmlns:x=\"u\"/>" + seed + "<appmsg_ext/></msg>",
	}
}

func TestExtractAppMsgKeepsBytes(t *testing.T) {
	seed := seedAppMsg(t)
	for name, in := range wrappings(seed) {
		t.Run(name, func(t *testing.T) {
			got, err := ExtractAppMsg(in)
			if err != nil {
				t.Fatalf("ExtractAppMsg: %v", err)
			}
			if got != seed {
				t.Errorf("extracted element differs from the seed:\n got %q\nwant %q", got, seed)
			}
		})
	}
}

func TestExtractAppMsgElements(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty element", "<appmsg/>", "<appmsg/>"},
		{"attributes", `<appmsg  appid="x" sdkver='0'>a</appmsg >`, `<appmsg  appid="x" sdkver='0'>a</appmsg >`},
		{"appmsg inside appmsg belongs to it", "<msg><appmsg><refer><appmsg/></refer></appmsg></msg>", "<appmsg><refer><appmsg/></refer></appmsg>"},
		{"entities kept", "<msg><appmsg><t>a &amp; b &#x4e91;</t></appmsg></msg>", "<appmsg><t>a &amp; b &#x4e91;</t></appmsg>"},
		{"escaped newline in cdata is data", `<appmsg><p><![CDATA[a\nb]]></p></appmsg>`, `<appmsg><p><![CDATA[a\nb]]></p></appmsg>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExtractAppMsg(tt.in)
			if err != nil {
				t.Fatalf("ExtractAppMsg: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExtractAppMsgRejects(t *testing.T) {
	tests := []struct {
		name, in  string
		kind      error
		line, col int    // 0: not checked
		want      string // a part of the message
	}{
		{"empty", "  \n", ErrContentEmpty, 0, 0, "content is empty"},
		{"only a group prefix", "wxid_a:\n", ErrContentEmpty, 0, 0, "content is empty"},
		{"not xml", "hello", ErrNotWellFormed, 1, 1, "text outside the root element"},
		{"text after", "<appmsg/>\nthanks", ErrNotWellFormed, 2, 1, "text outside the root element"},
		{"no-break space after", "<appmsg/>\u00a0", ErrNotWellFormed, 1, 10, "text outside the root element"},
		{"cdata outside", "<![CDATA[x]]><appmsg/>", ErrNotWellFormed, 1, 1, "text outside the root element"},
		{"only a comment", "<!-- <appmsg/> -->", ErrNoAppMsg, 0, 0, "no element at all"},
		{"no appmsg", "<msg><title>x</title></msg>", ErrNoAppMsg, 0, 0, "its root element is <msg>"},
		{"appmsg only in cdata", "<msg><![CDATA[<appmsg/>]]></msg>", ErrNoAppMsg, 0, 0, "no <appmsg> element"},
		{"two appmsg", "<msg>\n<appmsg/>\n  <appmsg>x</appmsg></msg>", ErrManyAppMsg, 3, 3, "line 2, column 1 and line 3, column 3"},
		{"two appmsg roots", "<appmsg/><appmsg/>", ErrManyAppMsg, 1, 10, "2 <appmsg> elements"},
		{"two roots", "<msg><appmsg/></msg><msg/>", ErrNotWellFormed, 1, 21, "second root element <msg>"},
		{"unclosed", "<appmsg>\n  <title>x</title>", ErrNotWellFormed, 2, 19, "opened at line 1, column 1 is never closed"},
		{"mismatched", "<appmsg>\n<title>x</des></appmsg>", ErrNotWellFormed, 2, 15, "element <title> closed by </des>"},
		{"bad entity", "<appmsg>&nbsp;</appmsg>", ErrNotWellFormed, 1, 0, "not well-formed"},
		{"bare ampersand", "<appmsg><url>a?b=1&c=2</url></appmsg>", ErrNotWellFormed, 1, 0, "not well-formed"},
		{"duplicate attribute", `<appmsg a="1" a="2"/>`, ErrNotWellFormed, 1, 1, "attribute a given twice"},
		{"late declaration", `<msg/><?xml version="1.0"?>`, ErrNotWellFormed, 1, 7, "must come first"},
		{"doctype inside", "<appmsg><!DOCTYPE x></appmsg>", ErrNotWellFormed, 1, 9, "inside an element"},
		{"columns count characters", "<appmsg><t>云铺海购</x></appmsg>", ErrNotWellFormed, 1, 20, "closed by </x>"},
		{"positions in stored content", "wxid_a:\n\n<msg>\n<appmsg>", ErrNotWellFormed, 4, 9, "never closed"},
		{"too large", "<appmsg>" + strings.Repeat("x", MaxContentBytes) + "</appmsg>", ErrContentTooLarge, 0, 0, "more than the 262144 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ExtractAppMsg(tt.in)
			checkTemplateErr(t, err, tt.kind, tt.line, tt.col, tt.want)
		})
	}
}

// checkTemplateErr checks that err is a *TemplateError of kind, at line and
// col when they are not 0, whose message contains want.
func checkTemplateErr(t *testing.T, err error, kind error, line, col int, want string) {
	t.Helper()
	var te *TemplateError
	if !errors.As(err, &te) || !errors.Is(err, kind) {
		t.Fatalf("error = %v, want a *TemplateError of kind %q", err, kind)
	}
	if line != 0 && te.Line != line || col != 0 && te.Column != col {
		t.Errorf("position = %d:%d, want %d:%d (%v)", te.Line, te.Column, line, col, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestExtractAppMsgJSONEscaped(t *testing.T) {
	escaped := seedJSONContent(t)
	var decoded string
	if err := json.Unmarshal([]byte(`"`+escaped+`"`), &decoded); err != nil {
		t.Fatalf("the fixture's content is not a JSON string: %v", err)
	}
	if decoded != seedAppMsg(t) {
		t.Fatal("the request fixture's content is not the seed applet")
	}
	tests := []struct {
		name, in  string
		line, col int
	}{
		{"copied from the request", escaped, 1, 15},
		{"copied with its quotes", `"` + escaped + `"`, 1, 1},
		{"no attributes, so well-formed", `<appmsg>\n\t\t<title>x</title>\n\t</appmsg>`, 1, 9},
		{"escaped slashes", `<appmsg><title>x<\/title><\/appmsg>`, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ExtractAppMsg(tt.in)
			checkTemplateErr(t, err, ErrJSONEscaped, tt.line, tt.col, `('"' || content || '"')::json #>> '{}'`)
		})
	}
}
