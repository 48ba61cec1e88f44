package sender

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/broadcaster/broadcaster/campaign"
)

// seedMessage is the provider's request example as a Message.
func seedMessage(tb testing.TB) campaign.Message {
	tb.Helper()
	var body struct {
		WID     string `json:"wId"`
		WcID    string `json:"wcId"`
		ImgURL  string `json:"imgUrl"`
		Content string `json:"content"`
	}
	if err := json.Unmarshal(readFixture(tb, "seed-request.json"), &body); err != nil {
		tb.Fatalf("seed request: %v", err)
	}
	return campaign.Message{WID: body.WID, WcID: body.WcID, ImgURL: body.ImgURL, Content: body.Content}
}

// TestEncodeMessageMatchesProvider checks that the body is the provider's
// example byte for byte, once the example's indentation is removed: the
// same four fields in the same order, the XML not \u-escaped.
func TestEncodeMessageMatchesProvider(t *testing.T) {
	m := seedMessage(t)
	if m.Content != string(bytes.TrimRight(readFixture(t, "seed-appmsg.xml"), "\n")) {
		t.Fatalf("fixtures disagree: seed-request content is not seed-appmsg.xml")
	}
	got, err := encodeMessage(m)
	if err != nil {
		t.Fatalf("encodeMessage: %v", err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, readFixture(t, "seed-request.json")); err != nil {
		t.Fatalf("compact fixture: %v", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("body differs from the provider's example:\n got %s\nwant %s", got, want.Bytes())
	}
}

func TestEncodeMessageEscapes(t *testing.T) {
	m := campaign.Message{WID: "w", WcID: "x@chatroom", ImgURL: "http://i/a.png?x=1&y=2", Content: "<appmsg a=\"q\">\u2028&amp;\"\\</appmsg>"}
	got, err := encodeMessage(m)
	if err != nil {
		t.Fatalf("encodeMessage: %v", err)
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if len(back) != 4 || back["wId"] != m.WID || back["wcId"] != m.WcID || back["imgUrl"] != m.ImgURL || back["content"] != m.Content {
		t.Errorf("round trip = %q, want %+v", back, m)
	}
}

func TestCheckMessage(t *testing.T) {
	ok := campaign.Message{WID: "w", WcID: "c", ImgURL: "http://i", Content: "<appmsg/>"}
	tests := []struct {
		name   string
		mutate func(*campaign.Message)
		valid  bool
	}{
		{"complete", func(*campaign.Message) {}, true},
		{"no wId", func(m *campaign.Message) { m.WID = "" }, false},
		{"no wcId", func(m *campaign.Message) { m.WcID = "" }, false},
		{"no imgUrl", func(m *campaign.Message) { m.ImgURL = "" }, false},
		{"no content", func(m *campaign.Message) { m.Content = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.mutate(&m)
			if err := checkMessage(m); (err == nil) != tt.valid {
				t.Errorf("checkMessage = %v, want valid %v", err, tt.valid)
			}
		})
	}
}
