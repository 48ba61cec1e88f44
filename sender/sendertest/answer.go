package sendertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/sender"
)

// API codes the server answers with.
const (
	// CodeInvalid answers requests the server refuses as invalid (with an
	// HTTP 4xx status). The provider does not document its answer to bad
	// requests; this one is distinct from 1001 so that a client never
	// mistakes a malformed request for a transient failure.
	CodeInvalid = "1002"
	// sentMessage is the provider's success text.
	sentMessage = "发送小程序成功"
	// hijackWriteTimeout bounds writes on hijacked connections, which no
	// longer have the server's timeouts.
	hijackWriteTimeout = 5 * time.Second
)

// successAnswer is the provider's success answer, fields in its order.
type successAnswer struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Data    receiptData `json:"data"`
}

// receiptData is the data object of a success answer. The ids are int64 and
// encoded as JSON integers, so newMsgId goes out exact.
type receiptData struct {
	Type       int    `json:"type"`
	MsgID      int64  `json:"msgId"`
	NewMsgID   int64  `json:"newMsgId"`
	CreateTime int64  `json:"createTime"`
	WcID       string `json:"wcId"`
}

// errorAnswer is the provider's error answer, fields in its order.
type errorAnswer struct {
	Message string    `json:"message"`
	Code    string    `json:"code"`
	Data    *struct{} `json:"data"`
}

// encodeJSON writes v without HTML escaping, as the provider's examples are.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// The answer types above always encode; keep the server answering.
		return []byte(`{"message":"sendertest: encoding failed","code":"` + CodeInvalid + `","data":null}`)
	}
	return buf.Bytes()
}

// successBody is the JSON of a success answer.
func successBody(rec Request) []byte {
	return encodeJSON(successAnswer{
		Code:    sender.CodeSent,
		Message: sentMessage,
		Data: receiptData{
			MsgID:      rec.MsgID,
			NewMsgID:   rec.NewMsgID,
			CreateTime: rec.CreateTime,
			WcID:       rec.WcID,
		},
	})
}

// errorBody is the JSON of an error answer.
func errorBody(code, message string) []byte {
	return encodeJSON(errorAnswer{Message: message, Code: code})
}

// writeBody answers status with body, typed by its first byte.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	contentType := "application/json;charset=UTF-8"
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		contentType = "text/html"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// htmlErrorPage is an nginx-style error page, what a gateway in front of
// the provider answers when the provider itself cannot.
func htmlErrorPage(status int) string {
	title := strings.TrimSpace(fmt.Sprintf("%d %s", status, http.StatusText(status)))
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
}

// abort closes the client's connection without an answer (or with what was
// already written). Returning from a handler instead would make net/http
// answer an empty 200, which is a different fault.
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not an HTTP/1 connection (a ResponseRecorder, HTTP/2): say so
		// rather than answer something that looks like success.
		http.Error(w, "sendertest: cannot abort this connection", http.StatusInternalServerError)
		return
	}
	_ = conn.Close()
}

// cut writes a success answer's status, headers and the first half of its
// body, then closes the connection, as a provider whose process dies while
// answering would.
func cut(w http.ResponseWriter, body []byte) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "sendertest: cannot cut this connection", http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(hijackWriteTimeout))
	head := "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
	_, _ = conn.Write(append([]byte(head), body[:len(body)/2]...))
}
