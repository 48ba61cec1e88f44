package sendertest

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/broadcaster/broadcaster/sender"
)

// TestAcceptsProviderExample posts the provider's request example verbatim
// and expects the provider's success answer, with exact 64-bit ids.
func TestAcceptsProviderExample(t *testing.T) {
	s := start(t, Config{})
	raw := readFixture(t, "seed-request.json")
	status, body, a := exchange(t, httpClient(t), newRequest(t, t.Context(), s, raw))
	if status != http.StatusOK || a.Code != sender.CodeSent || a.Message != "发送小程序成功" {
		t.Fatalf("answer HTTP %d %s", status, body)
	}
	if !bytes.HasPrefix(body, []byte(`{"code":"1000","message":"发送小程序成功","data":{"type":0,"msgId":697760545,"newMsgId":7645748705605226305,"createTime":`)) {
		t.Errorf("answer %s is not shaped like the provider's example", body)
	}
	r := decodeReceipt(t, a)
	if r.Type != "0" || r.MsgID != "697760545" || r.NewMsgID != "7645748705605226305" || r.WcID != "jack_623555049" {
		t.Errorf("receipt %+v", r)
	}
	rec := s.Requests()[0]
	content := strings.TrimRight(string(readFixture(t, "seed-appmsg.xml")), "\n")
	if rec.WID != "0000016f-78bd-21c8-0001-29c4d004ae46" || rec.WcID != "jack_623555049" || rec.Content != content || rec.Attempt != 1 {
		t.Errorf("recorded %+v", rec)
	}
	if !rec.Sent() || rec.NewMsgID != FirstNewMsgID || r.CreateTime.String() != strconv.FormatInt(rec.CreateTime, 10) {
		t.Errorf("record %+v does not match the answer %+v", rec, r)
	}
}

// TestRejects checks that every kind of invalid request is refused with the
// documented status and the JSON error answer, and recorded.
func TestRejects(t *testing.T) {
	const img = "http://photocdn.sohu.com/cover.jpg"
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string // overrides of the valid headers; "" deletes
		body   string
		status int
		reason string
	}{
		{"GET", http.MethodGet, "", nil, "", 405, "method must be POST"},
		{"wrong path", "", "/sendText", nil, "", 404, "no such endpoint"},
		{"no token", "", "", map[string]string{"Authorization": ""}, "", 401, "Authorization"},
		{"wrong token", "", "", map[string]string{"Authorization": "Bearer " + testToken}, "", 401, "Authorization"},
		{"no content type", "", "", map[string]string{"Content-Type": ""}, "", 415, "Content-Type"},
		{"form content type", "", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "", 415, "Content-Type"},
		{"empty body", "", "", nil, " ", 400, "not a JSON object"},
		{"array body", "", "", nil, `[]`, 400, "not a JSON object"},
		{"broken JSON", "", "", nil, `{"wId":`, 400, "not valid JSON"},
		{"trailing data", "", "", nil, `{"wId":"w","wcId":"c","imgUrl":"` + img + `","content":"<appmsg/>"} {}`, 400, "not valid JSON"},
		{"missing field", "", "", nil, `{"wId":"w","wcId":"c","imgUrl":"` + img + `"}`, 400, "content is missing"},
		{"extra field", "", "", nil, `{"wId":"w","wcId":"c","imgUrl":"` + img + `","content":"<appmsg/>","type":33}`, 400, "fields other than"},
		{"field of another case", "", "", nil, `{"wid":"w","wcId":"c","imgUrl":"` + img + `","content":"<appmsg/>"}`, 400, "wId is missing"},
		{"number field", "", "", nil, `{"wId":"w","wcId":1,"imgUrl":"` + img + `","content":"<appmsg/>"}`, 400, "wcId is not a string"},
		{"null field", "", "", nil, `{"wId":null,"wcId":"c","imgUrl":"` + img + `","content":"<appmsg/>"}`, 400, "wId is not a string"},
		{"empty field", "", "", nil, `{"wId":"w","wcId":" ","imgUrl":"` + img + `","content":"<appmsg/>"}`, 400, "wcId is empty"},
		{"relative imgUrl", "", "", nil, `{"wId":"w","wcId":"c","imgUrl":"/a.jpg","content":"<appmsg/>"}`, 400, "imgUrl"},
		{"ftp imgUrl", "", "", nil, `{"wId":"w","wcId":"c","imgUrl":"ftp://h/a.jpg","content":"<appmsg/>"}`, 400, "imgUrl"},
		{"whole callback message", "", "", nil, `{"wId":"w","wcId":"c","imgUrl":"` + img + `","content":"<msg><appmsg/></msg>"}`, 400, "want <appmsg>"},
		{"body too large", "", "", nil, `{"wId":"` + strings.Repeat("w", maxRequestBody) + `"}`, 413, "larger than"},
	}
	s := start(t, Config{})
	c := httpClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, t.Context(), s, []byte(tt.body))
			if tt.method != "" {
				req.Method = tt.method
			}
			if tt.path != "" {
				req.URL.Path = tt.path
			}
			for k, v := range tt.header {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			status, raw, a := exchange(t, c, req)
			if status != tt.status || a.Code != CodeInvalid || !strings.Contains(a.Message, tt.reason) || string(a.Data) != "null" {
				t.Errorf("answer HTTP %d %s; want HTTP %d code %s mentioning %q", status, raw, tt.status, CodeInvalid, tt.reason)
			}
			rec := s.Requests()[len(s.Requests())-1]
			if rec.Rejected == "" || rec.Status != tt.status || rec.Code != CodeInvalid || rec.Sent() {
				t.Errorf("recorded %+v", rec)
			}
		})
	}
	st := s.Stats()
	if st.Rejected != len(tests) || st.Requests != len(tests) || st.Sent != 0 {
		t.Errorf("stats %+v, want %d rejected", st, len(tests))
	}
}

// TestRecordedHeaders: the record keeps the headers but not the token.
func TestRecordedHeaders(t *testing.T) {
	s := start(t, Config{})
	req := newRequest(t, context.Background(), s, bodyFor(t, "bob"))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Trace", "t1")
	if status, raw, _ := exchange(t, httpClient(t), req); status != http.StatusOK {
		t.Fatalf("answer HTTP %d %s", status, raw)
	}
	rec := s.Requests()[0]
	if rec.Header.Get("X-Trace") != "t1" || rec.Header.Get("Authorization") != "" || rec.RemoteAddr == "" {
		t.Errorf("recorded header %v from %q", rec.Header, rec.RemoteAddr)
	}
}

func TestAnyTokenWhenNoneConfigured(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	req := newRequest(t, t.Context(), s, bodyFor(t, "bob"))
	req.Header.Del("Authorization")
	if status, raw, _ := exchange(t, httpClient(t), req); status != http.StatusOK {
		t.Errorf("answer HTTP %d %s", status, raw)
	}
}

func TestCheckAppmsg(t *testing.T) {
	tests := []struct {
		name    string
		content string
		valid   bool
	}{
		{"self-closing", "<appmsg/>", true},
		{"with attributes and children", `<appmsg appid="" sdkver="0"><title>t</title><url>a&amp;b</url></appmsg>`, true},
		{"surrounding whitespace", "\n\t<appmsg><des>x</des></appmsg>\n", true},
		{"CDATA inside", "<appmsg><x><![CDATA[a < b & c]]></x></appmsg>", true},
		{"comment inside", "<appmsg><!-- ok --></appmsg>", true},
		{"empty", "", false},
		{"text only", "hello", false},
		{"other root", "<msg/>", false},
		{"enclosing msg", "<msg><appmsg/></msg>", false},
		{"XML declaration", `<?xml version="1.0"?><appmsg/>`, false},
		{"comment outside", "<!-- c --><appmsg/>", false},
		{"doctype", "<!DOCTYPE appmsg><appmsg/>", false},
		{"text after", "<appmsg/>tail", false},
		{"text before", "head<appmsg/>", false},
		{"two roots", "<appmsg/><appmsg/>", false},
		{"unclosed", "<appmsg><title>t</title>", false},
		{"mismatched", "<appmsg><title>t</des></appmsg>", false},
		{"bare ampersand", "<appmsg><url>a&b</url></appmsg>", false},
		{"prefixed root", "<x:appmsg/>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkAppmsg(tt.content); (err == nil) != tt.valid {
				t.Errorf("checkAppmsg(%q) = %v, want valid %v", tt.content, err, tt.valid)
			}
		})
	}
	if err := checkAppmsg(string(readFixture(t, "seed-appmsg.xml"))); err != nil {
		t.Errorf("the provider's applet is refused: %v", err)
	}
}
