package sender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/broadcaster/broadcaster/campaign"
)

// requestBody is the sendApplet body: exactly these four strings, in the
// order of the provider's example.
type requestBody struct {
	WID     string `json:"wId"`
	WcID    string `json:"wcId"`
	ImgURL  string `json:"imgUrl"`
	Content string `json:"content"`
}

// encodeMessage writes the request body. HTML escaping is off so that the
// applet XML travels as in the provider's example ("<appmsg", "&amp;")
// rather than as \u003c sequences; both are valid JSON.
func encodeMessage(m campaign.Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(requestBody{WID: m.WID, WcID: m.WcID, ImgURL: m.ImgURL, Content: m.Content})
	if err != nil {
		return nil, fmt.Errorf("send applet: encode request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkMessage refuses a message with an empty field before it costs a
// request: the API requires all four, so the answer could only be a refusal.
// Deeper checks (the URL, the XML) belong to campaign validation.
func checkMessage(m campaign.Message) error {
	switch {
	case m.WID == "":
		return errors.New("wId is empty")
	case m.WcID == "":
		return errors.New("wcId is empty")
	case m.ImgURL == "":
		return errors.New("imgUrl is empty")
	case m.Content == "":
		return errors.New("content is empty")
	}
	return nil
}
