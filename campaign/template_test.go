package campaign

import (
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// wellFormed is an oracle independent of scanXML: encoding/xml in strict
// mode reads s to the end without error.
func wellFormed(s string) bool {
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// hostile are values that break naive templating: markup, both quotes, the
// CDATA terminator, non-ASCII, characters XML cannot hold, invalid UTF-8.
var hostile = []string{
	`a&b<c>"d'é]]>`,
	`]]>]]]]>`,
	`"'><!--`,
	"云铺海购 🎉",
	"tab\tnl\ncr\r",
	"nul\x00ctl\x01\x1f",
	"bad\xff\xfeutf8",
	"{{wcId}}",
	"&amp;&#x41;",
}

func TestPrepareRender(t *testing.T) {
	tmpl := Template{
		Name:    "t",
		ImgURL:  "https://cdn.example.com/c.jpg?to={{wcId}}&d={{date}}",
		Content: `<appmsg appid=""><title>Hi {{wcId}}</title><url>https://x/?c={{campaignId}}&amp;r={{runId}}&amp;d={{deliveryId}}</url><pagepath><![CDATA[p?u={{ wcId }}]]></pagepath></appmsg>`,
	}
	p, err := Prepare(tmpl)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	tests := []struct {
		name              string
		v                 Values
		wantImg, wantBody string
	}{
		{
			name:     "plain",
			v:        Values{WcID: "wxid_1", CampaignID: 7, RunID: 8, DeliveryID: 9, Date: "2026-11-25"},
			wantImg:  "https://cdn.example.com/c.jpg?to=wxid_1&d=2026-11-25",
			wantBody: `<appmsg appid=""><title>Hi wxid_1</title><url>https://x/?c=7&amp;r=8&amp;d=9</url><pagepath><![CDATA[p?u=wxid_1]]></pagepath></appmsg>`,
		},
		{
			name:     "escaping",
			v:        Values{WcID: `a&b<c>"d'é]]>`, CampaignID: 1, RunID: 2, DeliveryID: 3, Date: "2026-01-02"},
			wantImg:  "https://cdn.example.com/c.jpg?to=a%26b%3Cc%3E%22d%27%C3%A9%5D%5D%3E&d=2026-01-02",
			wantBody: `<appmsg appid=""><title>Hi a&amp;b&lt;c&gt;&#34;d&#39;é]]&gt;</title><url>https://x/?c=1&amp;r=2&amp;d=3</url><pagepath><![CDATA[p?u=a&b<c>"d'é]]]]><![CDATA[>]]></pagepath></appmsg>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, body := p.Render(tt.v)
			if img != tt.wantImg {
				t.Errorf("img = %q, want %q", img, tt.wantImg)
			}
			if body != tt.wantBody {
				t.Errorf("content =\n %q\nwant\n %q", body, tt.wantBody)
			}
			if !wellFormed(body) {
				t.Errorf("rendered content is not well-formed: %q", body)
			}
		})
	}
}

// TestRenderContexts fills a placeholder in every place XML allows one and
// checks that each hostile value reads back exactly where it stands (as
// text, CDATA or attribute value) and leaves the document well-formed.
func TestRenderContexts(t *testing.T) {
	p, err := Prepare(Template{ImgURL: "https://a/b.jpg", Content: `<msg><appmsg d="{{wcId}}" s='{{wcId}}'>` +
		`<t>{{wcId}}</t><c><![CDATA[{{wcId}}]]></c><m>x<![CDATA[a]]>{{wcId}}<![CDATA[{{wcId}}]]></m></appmsg></msg>`})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	type doc struct {
		D string `xml:"d,attr"`
		S string `xml:"s,attr"`
		T string `xml:"t"`
		C string `xml:"c"`
		M string `xml:"m"`
	}
	for _, v := range hostile {
		t.Run(v, func(t *testing.T) {
			_, body := p.Render(Values{WcID: v})
			if !wellFormed(body) {
				t.Fatalf("not well-formed: %q", body)
			}
			if got, err := ExtractAppMsg(body); err != nil || got != body {
				t.Fatalf("rendered content does not extract to itself: %v", err)
			}
			var d doc
			if err := xml.Unmarshal([]byte(body), &d); err != nil {
				t.Fatalf("unmarshal %q: %v", body, err)
			}
			want := xmlSafe(v)
			for _, got := range []string{d.D, d.S, d.T, d.C} {
				if got != want {
					t.Errorf("value read back as %q, want %q in %q", got, want, body)
				}
			}
			if d.M != "xa"+want+want {
				t.Errorf("mixed text and CDATA read back as %q, want %q", d.M, "xa"+want+want)
			}
		})
	}
}

// xmlSafe is v as an XML reader sees it after rendering: each byte of
// invalid UTF-8 and each character XML cannot hold replaced by U+FFFD.
func xmlSafe(v string) string {
	var b strings.Builder
	for i, r := range v {
		if !isXMLChar(r) || r == utf8.RuneError && !strings.HasPrefix(v[i:], "\uFFFD") {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestRenderLeavesCommentsAndInstructions(t *testing.T) {
	content := `<appmsg><!-- {{wcId}} {{nope}} --><?pi {{wcId}}?><t>{{wcId}}</t></appmsg>`
	p, err := Prepare(Template{ImgURL: "https://a/b.jpg", Content: content})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	_, body := p.Render(Values{WcID: "--> <x"})
	want := `<appmsg><!-- {{wcId}} {{nope}} --><?pi {{wcId}}?><t>--&gt; &lt;x</t></appmsg>`
	if body != want {
		t.Errorf("got %q, want %q", body, want)
	}
}

func TestPrepareSeedUnchanged(t *testing.T) {
	seed := seedAppMsg(t)
	for name, content := range wrappings(seed) {
		t.Run(name, func(t *testing.T) {
			p, err := Prepare(Template{ImgURL: "http://photocdn.sohu.com/20120323/Img338614056.jpg", Content: content})
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			img, body := p.Render(Values{WcID: "jack_623555049"})
			if body != seed || img != "http://photocdn.sohu.com/20120323/Img338614056.jpg" {
				t.Errorf("render changed a template without placeholders")
			}
		})
	}
}

func TestPrepareRejects(t *testing.T) {
	good := "<appmsg><title>x</title></appmsg>"
	tests := []struct {
		name         string
		img, content string
		kind         error
		line, col    int
		want         string
	}{
		{"unknown placeholder", "https://a/b.jpg", "<msg>\n <appmsg>{{name}}</appmsg></msg>", ErrUnknownPlaceholder, 2, 10,
			"content: unknown placeholder {{name}} at line 2, column 10 (known: {{wcId}}, {{campaignId}}, {{runId}}, {{deliveryId}}, {{date}})"},
		{"in an attribute", "https://a/b.jpg", `<appmsg a="{{x}}"/>`, ErrUnknownPlaceholder, 1, 12, "unknown placeholder {{x}}"},
		{"in cdata", "https://a/b.jpg", `<appmsg><![CDATA[{{ x }}]]></appmsg>`, ErrUnknownPlaceholder, 1, 18, "unknown placeholder {{ x }}"},
		{"empty name", "https://a/b.jpg", `<appmsg>{{}}</appmsg>`, ErrUnknownPlaceholder, 1, 9, "unknown placeholder {{}}"},
		{"wrong case", "https://a/b.jpg", `<appmsg>{{wcid}}</appmsg>`, ErrUnknownPlaceholder, 1, 9, "did you mean {{wcId}}?"},
		{"unknown in img", "https://a/b.jpg?x={{nope}}", good, ErrUnknownPlaceholder, 0, 0, "img_url: unknown placeholder {{nope}}"},
		{"ftp img", "ftp://a/b.jpg", good, ErrImgURL, 0, 0, "not an absolute http(s) URL"},
		{"relative img", "/b.jpg", good, ErrImgURL, 0, 0, "not an absolute http(s) URL"},
		{"empty img", "  ", good, ErrImgURL, 0, 0, "img_url is empty"},
		{"only a placeholder", "{{wcId}}", good, ErrImgURL, 0, 0, `img_url "{{wcId}}" is not an absolute http(s) URL`},
		{"malformed xml", "https://a/b.jpg", "<appmsg><title></appmsg>", ErrNotWellFormed, 1, 0, "not well-formed"},
		{"no appmsg", "https://a/b.jpg", "<msg/>", ErrNoAppMsg, 0, 0, "no <appmsg>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Prepare(Template{ImgURL: tt.img, Content: tt.content})
			checkTemplateErr(t, err, tt.kind, tt.line, tt.col, tt.want)
		})
	}
}

func TestRenderImgURL(t *testing.T) {
	p, err := Prepare(Template{ImgURL: " https://cdn.example.com/{{campaignId}}/c.jpg?u={{wcId}}&d={{date}} ", Content: "<appmsg/>"})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	for _, v := range hostile {
		img, _ := p.Render(Values{WcID: v, CampaignID: 42, Date: "2026-03-04"})
		u, err := url.Parse(img)
		if err != nil {
			t.Fatalf("rendered img_url %q does not parse: %v", img, err)
		}
		if got := u.Query().Get("u"); got != v {
			t.Errorf("wcId read back from the URL as %q, want %q", got, v)
		}
		if u.Path != "/42/c.jpg" || u.Query().Get("d") != "2026-03-04" {
			t.Errorf("rendered img_url %q", img)
		}
	}
}

func TestValidate(t *testing.T) {
	tmpl := &Template{Name: "ok", ImgURL: "https://a/b.jpg", Content: "<appmsg/>"}
	tests := []struct {
		name string
		c    Campaign
		want string // "" for valid
	}{
		{"valid", Campaign{WID: "w1", Template: tmpl}, ""},
		{"empty w_id", Campaign{WID: "  ", Template: tmpl}, "w_id is empty"},
		{"no template", Campaign{WID: "w1"}, "names no template"},
		{"bad template", Campaign{WID: "w1", Template: &Template{Name: "bad", ImgURL: "x", Content: "<appmsg/>"}}, `template "bad": img_url`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(tt.c)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate error = %v, want an InvalidError containing %q", err, tt.want)
			}
		})
	}
}

// seedWithPlaceholders is the seed applet personalised the way operators
// do: the recipient in the title, tracking ids in the page path (CDATA) and
// the URL (text), the date in the description.
func seedWithPlaceholders(t testing.TB) Template {
	t.Helper()
	seed := seedAppMsg(t)
	r := strings.NewReplacer(
		"<title>云铺海购</title>", "<title>云铺海购 {{wcId}}</title>",
		"<des>云铺海购</des>", "<des>云铺海购 {{date}}</des>",
		"from_uuid=FgPTe5LTPr00dw21663912217667", "from_uuid={{wcId}}&c={{campaignId}}&r={{runId}}&d={{deliveryId}}",
		"upgradetype=3#", "upgradetype=3&amp;u={{wcId}}#",
	)
	content := r.Replace(seed)
	if strings.Count(content, "{{") != 7 {
		t.Fatalf("the seed changed: %d placeholders inserted", strings.Count(content, "{{"))
	}
	return Template{Name: "seed", ImgURL: "http://photocdn.sohu.com/20120323/Img338614056.jpg?u={{wcId}}", Content: "<msg>" + content + "</msg>"}
}

func TestRenderSeedWithPlaceholders(t *testing.T) {
	p, err := Prepare(seedWithPlaceholders(t))
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	img, body := p.Render(Values{WcID: "jack_623555049", CampaignID: 1, RunID: 2, DeliveryID: 3, Date: "2026-11-25"})
	if !wellFormed(body) || !strings.Contains(body, "<title>云铺海购 jack_623555049</title>") ||
		!strings.Contains(body, "from_uuid=jack_623555049&c=1&r=2&d=3]]>") || !strings.HasSuffix(img, "?u=jack_623555049") {
		t.Errorf("rendered seed:\n%s\n%s", img, body)
	}
}

// BenchmarkRender measures the per-delivery cost of filling the seed applet:
// as the provider ships it (no placeholders: no copy at all) and with seven
// placeholders in text, CDATA and the cover URL.
func BenchmarkRender(b *testing.B) {
	plain := Template{ImgURL: "http://photocdn.sohu.com/20120323/Img338614056.jpg", Content: "<msg>" + seedAppMsg(b) + "</msg>"}
	for _, bc := range []struct {
		name string
		tmpl Template
	}{
		{"seed", plain},
		{"seed-placeholders", seedWithPlaceholders(b)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := Prepare(bc.tmpl)
			if err != nil {
				b.Fatal(err)
			}
			v := Values{WcID: "jack_623555049", CampaignID: 12, RunID: 345, DeliveryID: 678901, Date: "2026-11-25"}
			b.ReportAllocs()
			for b.Loop() {
				img, body := p.Render(v)
				if len(img) == 0 || len(body) == 0 {
					b.Fatal("empty render")
				}
			}
		})
	}
}

// BenchmarkPrepare measures the once-per-run cost: parse, check and split.
func BenchmarkPrepare(b *testing.B) {
	tmpl := seedWithPlaceholders(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Prepare(tmpl); err != nil {
			b.Fatal(err)
		}
	}
}
