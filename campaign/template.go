package campaign

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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

func knownPlaceholder(name string) bool {
	switch Placeholder(name) {
	case PlaceholderWcID, PlaceholderCampaignID, PlaceholderRunID, PlaceholderDeliveryID, PlaceholderDate:
		return true
	}
	return false
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

// escaper turns a placeholder value into text safe where it stands.
type escaper func(string) string

// segment is literal text followed by an optional placeholder.
type segment struct {
	text   string
	name   Placeholder // "" for none
	escape escaper
}

// Prepared is a template validated and split at its placeholders once per
// run, so that rendering for each delivery is a cheap concatenation.
type Prepared struct {
	content []segment
	imgURL  []segment
}

// Prepare validates a template — applet XML with an <appmsg> element, an
// absolute http(s) cover URL, known placeholders only — and prepares it for
// rendering. Its errors say what is wrong in words an operator can act on.
func Prepare(t Template) (*Prepared, error) {
	appmsg, err := ExtractAppMsg(t.Content)
	if err != nil {
		return nil, err
	}
	content, err := split(appmsg, xmlEscaperAt(appmsg))
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	img, err := split(strings.TrimSpace(t.ImgURL), func(int) escaper { return url.QueryEscape })
	if err != nil {
		return nil, fmt.Errorf("img_url: %w", err)
	}
	p := &Prepared{content: content, imgURL: img}
	sample := Values{WcID: "wxid_sample", CampaignID: 1, RunID: 1, DeliveryID: 1, Date: "2006-01-02"}
	if err := checkImgURL(render(p.imgURL, sample)); err != nil {
		return nil, err
	}
	return p, nil
}

// Render fills the template for one delivery.
func (p *Prepared) Render(v Values) (imgURL, content string) {
	return render(p.imgURL, v), render(p.content, v)
}

func render(segs []segment, v Values) string {
	if len(segs) == 1 && segs[0].name == "" {
		return segs[0].text
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.text)
		if s.name != "" {
			b.WriteString(s.escape(v.get(s.name)))
		}
	}
	return b.String()
}

// split cuts s at its placeholders; escapeAt picks the escaping for a
// placeholder at a byte offset.
func split(s string, escapeAt func(offset int) escaper) ([]segment, error) {
	var segs []segment
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
		name := s[m[2]:m[3]]
		if !knownPlaceholder(name) {
			return nil, fmt.Errorf("unknown placeholder %s (known: {{wcId}}, {{campaignId}}, {{runId}}, {{deliveryId}}, {{date}})", s[m[0]:m[1]])
		}
		segs = append(segs, segment{text: s[last:m[0]], name: Placeholder(name), escape: escapeAt(m[0])})
		last = m[1]
	}
	return append(segs, segment{text: s[last:]}), nil
}

// xmlEscaperAt escapes values as XML text, except inside a CDATA section,
// where entities are not decoded and only "]]>" must be broken up.
func xmlEscaperAt(doc string) func(int) escaper {
	return func(offset int) escaper {
		open := strings.LastIndex(doc[:offset], "<![CDATA[")
		if open >= 0 && !strings.Contains(doc[open:offset], "]]>") {
			return escapeCDATA
		}
		return escapeXML
	}
}

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

func escapeCDATA(s string) string {
	return strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>")
}

func checkImgURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("img_url is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("img_url %q is not a URL: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("img_url %q is not an absolute http(s) URL", raw)
	}
	return nil
}
