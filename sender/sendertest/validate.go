package sendertest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxRequestBody bounds what the server reads of a request; the real body is
// a few kilobytes of applet XML.
const maxRequestBody = 1 << 20

// appletRequest is a valid sendApplet body.
type appletRequest struct {
	WID, WcID, ImgURL, Content string
}

// rejection is why a request is refused, and with which HTTP status.
type rejection struct {
	status int
	reason string
}

// checkRequest validates a request as the real API would — and a little
// more strictly, since the point of the fake is to catch a client that
// sends something the real one might not accept.
func checkRequest(r *http.Request, body []byte, token string) (appletRequest, *rejection) {
	if rej := checkEnvelope(r, token); rej != nil {
		return appletRequest{}, rej
	}
	in, err := decodeBody(body)
	if err != nil {
		return appletRequest{}, &rejection{http.StatusBadRequest, err.Error()}
	}
	return in, nil
}

// checkEnvelope checks what surrounds the body: method, path, token and
// Content-Type.
func checkEnvelope(r *http.Request, token string) *rejection {
	switch {
	case r.Method != http.MethodPost:
		return &rejection{http.StatusMethodNotAllowed, "method must be POST"}
	case r.URL.Path != Path:
		return &rejection{http.StatusNotFound, "no such endpoint: " + r.URL.Path}
	case token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(token)) != 1:
		return &rejection{http.StatusUnauthorized, "header Authorization is not the token"}
	}
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return &rejection{http.StatusUnsupportedMediaType, err.Error()}
	}
	return nil
}

// checkRequestCheaply is checkRequest for Config.Cheap: the envelope, and a
// body that is one JSON object of exactly the four fields, each a non-empty
// string; imgUrl and the applet XML are not looked at.
func checkRequestCheaply(r *http.Request, body []byte, token string) (appletRequest, *rejection) {
	if rej := checkEnvelope(r, token); rej != nil {
		return appletRequest{}, rej
	}
	var in struct {
		WID     string `json:"wId"`
		WcID    string `json:"wcId"`
		ImgURL  string `json:"imgUrl"`
		Content string `json:"content"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return appletRequest{}, &rejection{http.StatusBadRequest, "body is not a JSON object of the four string fields: " + err.Error()}
	}
	if dec.More() {
		return appletRequest{}, &rejection{http.StatusBadRequest, "body has more than one JSON value"}
	}
	if in.WID == "" || in.WcID == "" || in.ImgURL == "" || in.Content == "" {
		return appletRequest{}, &rejection{http.StatusBadRequest, "body has an empty or missing field"}
	}
	return appletRequest(in), nil
}

// checkContentType requires application/json (a charset parameter is fine).
func checkContentType(v string) error {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("header Content-Type %q is not application/json", v)
	}
	return nil
}

// readBody reads at most maxRequestBody bytes of the request body. Reading
// to the end also lets net/http notice when the client hangs up, which
// ends the request's context.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *rejection) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &rejection{http.StatusRequestEntityTooLarge, "body larger than 1 MiB"}
	case err != nil:
		return nil, &rejection{http.StatusBadRequest, "reading body: " + err.Error()}
	}
	return body, nil
}

// decodeBody checks that the body is a JSON object of exactly the four
// fields, each a non-empty string, with a valid imgUrl and content.
func decodeBody(body []byte) (appletRequest, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return appletRequest{}, errors.New("body is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return appletRequest{}, fmt.Errorf("body is not valid JSON: %w", err)
	}
	bodyFields := [...]string{"wId", "wcId", "imgUrl", "content"}
	values := make(map[string]string, len(bodyFields))
	for _, name := range bodyFields {
		v, err := stringField(raw, name)
		if err != nil {
			return appletRequest{}, err
		}
		values[name] = v
	}
	if len(raw) != len(bodyFields) {
		return appletRequest{}, fmt.Errorf("body has fields other than %s", strings.Join(bodyFields[:], ", "))
	}
	in := appletRequest{WID: values["wId"], WcID: values["wcId"], ImgURL: values["imgUrl"], Content: values["content"]}
	if err := checkImgURL(in.ImgURL); err != nil {
		return appletRequest{}, err
	}
	if err := checkAppmsg(in.Content); err != nil {
		return appletRequest{}, err
	}
	return in, nil
}

// stringField reads one required, non-empty string field.
func stringField(raw map[string]json.RawMessage, name string) (string, error) {
	v, ok := raw[name]
	if !ok {
		return "", fmt.Errorf("field %s is missing", name)
	}
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", fmt.Errorf("field %s is not a string", name)
	}
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("field %s is empty", name)
	}
	return s, nil
}

// checkImgURL requires an absolute http(s) URL, as SPEC §2 does.
func checkImgURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("imgUrl %q is not an absolute http(s) URL", s)
	}
	return nil
}

// checkAppmsg requires content to be one well-formed <appmsg> element with
// nothing but whitespace around it: no XML declaration, no enclosing <msg>,
// no comment — what the provider's page asks for.
func checkAppmsg(content string) error {
	d := xml.NewDecoder(strings.NewReader(content))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("content is not well-formed XML: %w", err)
		}
		if err := checkToken(tok, depth, roots); err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots == 0 {
		return errors.New("content has no <appmsg> element")
	}
	return nil
}

// checkToken refuses what may not appear outside the root element, and a
// root that is not <appmsg>.
func checkToken(tok xml.Token, depth, roots int) error {
	if depth > 0 {
		return nil
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if roots > 0 {
			return errors.New("content has more than one root element")
		}
		if t.Name.Local != "appmsg" || t.Name.Space != "" {
			return fmt.Errorf("content root is <%s>, want <appmsg>", t.Name.Local)
		}
	case xml.CharData:
		if len(bytes.TrimSpace(t)) > 0 {
			return errors.New("content has text outside <appmsg>")
		}
	case xml.ProcInst:
		return errors.New("content has an XML declaration or processing instruction; send the bare <appmsg> element")
	case xml.Comment, xml.Directive:
		return errors.New("content has a comment or directive outside <appmsg>")
	}
	return nil
}
