package campaign

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// AppletPreview is what a recipient sees of a template's applet card: its
// title, description and the page it opens, read from the applet XML.
type AppletPreview struct {
	Title       string
	Description string
	PagePath    string
}

// Preview reads the applet card of template content: the <appmsg> element
// that is sent (ExtractAppMsg), its <title>, <des> and
// <weappinfo><pagepath>. Placeholders are shown as written.
func Preview(content string) (AppletPreview, error) {
	appmsg, err := ExtractAppMsg(content)
	if err != nil {
		return AppletPreview{}, err
	}
	var doc struct {
		Title    string `xml:"title"`
		Des      string `xml:"des"`
		PagePath string `xml:"weappinfo>pagepath"`
	}
	d := xml.NewDecoder(strings.NewReader(appmsg))
	d.Strict = false
	if err := d.Decode(&doc); err != nil {
		return AppletPreview{}, fmt.Errorf("read applet XML: %w", err)
	}
	return AppletPreview{
		Title:       strings.TrimSpace(doc.Title),
		Description: strings.TrimSpace(doc.Des),
		PagePath:    strings.TrimSpace(doc.PagePath),
	}, nil
}
