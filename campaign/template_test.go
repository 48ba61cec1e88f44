package campaign

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

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

func TestPrepareSeedUnchanged(t *testing.T) {
	seed := seedAppMsg(t)
	p, err := Prepare(Template{ImgURL: "http://photocdn.sohu.com/20120323/Img338614056.jpg", Content: "<msg>" + seed + "</msg>"})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	img, body := p.Render(Values{WcID: "jack_623555049"})
	if body != seed || img != "http://photocdn.sohu.com/20120323/Img338614056.jpg" {
		t.Errorf("render changed a template without placeholders")
	}
}

func TestPrepareRejects(t *testing.T) {
	good := "<appmsg><title>x</title></appmsg>"
	tests := []struct {
		name         string
		img, content string
		want         string
	}{
		{"unknown placeholder", "https://a/b.jpg", "<appmsg>{{name}}</appmsg>", "unknown placeholder {{name}}"},
		{"unknown in img", "https://a/b.jpg?x={{nope}}", good, "img_url: unknown placeholder {{nope}}"},
		{"ftp img", "ftp://a/b.jpg", good, "not an absolute http(s) URL"},
		{"relative img", "/b.jpg", good, "not an absolute http(s) URL"},
		{"empty img", "", good, "img_url is empty"},
		{"malformed xml", "https://a/b.jpg", "<appmsg><title></appmsg>", "not well-formed"},
		{"no appmsg", "https://a/b.jpg", "<msg/>", "no <appmsg>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Prepare(Template{ImgURL: tt.img, Content: tt.content})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prepare error = %v, want it to contain %q", err, tt.want)
			}
		})
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
