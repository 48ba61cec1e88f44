package campaign

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzTemplate feeds arbitrary content and wcIds to the extractor and the
// renderer. Besides "no panic" it checks what sending relies on:
//
//   - every error is a *TemplateError of a known kind, placed inside the
//     content;
//
//   - an extracted element is a piece of the content, byte for byte, is
//     well-formed on its own and extracts to itself;
//
//   - a template whose element was extracted fails Prepare only for an
//     unknown placeholder;
//
//   - rendering a prepared template with any value (markup, quotes, "]]>",
//     non-ASCII, control characters, invalid UTF-8) never yields malformed
//     XML, and the cover URL carries the value exactly.
//
// Run it with (a short minimising time leaves more of the run to
// exploring: the seed-sized inputs are slow to minimise):
//
//	go test ./campaign -run '^$' -fuzz FuzzTemplate -fuzztime 60s -fuzzminimizetime 5s
func FuzzTemplate(f *testing.F) {
	seed := seedAppMsg(f)
	personal := seedWithPlaceholders(f).Content
	for _, content := range wrappings(seed) {
		f.Add(content, "jack_623555049")
	}
	for _, content := range wrappings(strings.TrimSuffix(strings.TrimPrefix(personal, "<msg>"), "</msg>")) {
		f.Add(content, `a&b<c>"d'é]]>`)
	}
	f.Add(seedJSONContent(f), "wxid_1")
	f.Add(`<appmsg a="{{wcId}}" b='{{ wcId }}'><![CDATA[{{wcId}}]]>{{date}}<!-- {{wcId}} --></appmsg>`, "]]>\"'<&\r\n云")
	f.Add("<msg><appmsg/><appmsg/></msg>", "")
	f.Add("wxid_a:\n<appmsg>\n<t>{{wcid}}</t>", "x")
	f.Add("<appmsg>\\n\\t<t/></appmsg>", "\xff")
	f.Fuzz(func(t *testing.T, content, wcID string) {
		got, err := ExtractAppMsg(content)
		if err != nil {
			checkFuzzErr(t, content, err)
			return
		}
		if !strings.Contains(content, got) || !strings.HasPrefix(got, "<appmsg") {
			t.Fatalf("extracted %q is not an appmsg element of the content", got)
		}
		if again, err := ExtractAppMsg(got); err != nil || again != got {
			t.Fatalf("extracted element does not extract to itself (%v): %q", err, got)
		}
		if !wellFormed(got) {
			t.Fatalf("extracted element is not well-formed: %q", got)
		}
		p, err := Prepare(Template{ImgURL: "https://cdn.example.com/c.jpg?u={{wcId}}", Content: content})
		if err != nil {
			if !errors.Is(err, ErrUnknownPlaceholder) {
				t.Fatalf("Prepare failed on extractable content: %v", err)
			}
			checkFuzzErr(t, content, err)
			return
		}
		// Two renders keep an execution cheap enough for the fuzzer to
		// minimise a seed-sized input quickly: the fuzzed value, and every
		// hostile value at once.
		for _, v := range []string{wcID, strings.Join(hostile, "")} {
			img, body := p.Render(Values{WcID: v, CampaignID: -1, RunID: 1 << 62, DeliveryID: 0, Date: v})
			if !wellFormed(body) {
				t.Fatalf("value %q rendered malformed XML: %q", v, body)
			}
			if again, err := ExtractAppMsg(body); err != nil || again != body {
				t.Fatalf("value %q: rendered content does not extract to itself (%v): %q", v, err, body)
			}
			if !strings.Contains(got, "{{") && body != got {
				t.Fatalf("content without placeholders changed when rendered")
			}
			u, err := url.Parse(img)
			if err != nil || u.Query().Get("u") != v {
				t.Fatalf("value %q: cover URL %q does not carry it (%v)", v, img, err)
			}
		}
	})
}

// checkFuzzErr checks that err is a *TemplateError of a known kind, at a
// line and column that exist in content.
func checkFuzzErr(t *testing.T, content string, err error) {
	t.Helper()
	var te *TemplateError
	if !errors.As(err, &te) {
		t.Fatalf("error is not a *TemplateError: %#v", err)
	}
	known := false
	for _, k := range []error{ErrContentEmpty, ErrContentTooLarge, ErrNotWellFormed, ErrJSONEscaped,
		ErrNoAppMsg, ErrManyAppMsg, ErrUnknownPlaceholder} {
		known = known || errors.Is(err, k)
	}
	if !known {
		t.Fatalf("error of unknown kind: %v", err)
	}
	if te.Line == 0 {
		return
	}
	lines := strings.Split(content, "\n")
	if te.Line > len(lines) || te.Column < 1 || te.Column > len([]rune(lines[te.Line-1]))+1 {
		t.Fatalf("error placed at %d:%d, outside the content: %v", te.Line, te.Column, err)
	}
}
