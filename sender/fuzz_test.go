package sender

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/broadcaster/broadcaster/campaign"
)

// FuzzParseResponse feeds arbitrary bodies and statuses to the parser and
// the classifier. Besides "no panic" it checks the properties the rest of
// broadcaster relies on: every outcome is one of the four, a sent attempt
// has a receipt and came from a 2xx code 1000, an unreadable 2xx answer is
// never taken for sent or failed, the status alone decides non-2xx answers,
// every string is storable in PostgreSQL, and parsed ids survive a round
// trip exactly.
//
//	go test ./sender -run XXX -fuzz FuzzParseResponse -fuzztime 60s
func FuzzParseResponse(f *testing.F) {
	for _, name := range []string{"seed-success-response.json", "seed-error-response.json", "seed-request.json", "seed-appmsg.xml"} {
		f.Add(readFixture(f, name), 200)
	}
	f.Add([]byte(nginx502), 502)
	f.Add([]byte("<html><body>OK</body></html>"), 200)
	f.Add([]byte(`{"code":1000,"msg":"ok","data":{"type":"0","msgId":"1","newMsgId":"9223372036854775807","createTime":1,"wcId":"x"}}`), 200)
	f.Add([]byte(`{"code":"1001","message":"失败","data":null}`), 400)
	f.Add([]byte(`{"code":1e3}`), 200)
	f.Add([]byte(""), 204)
	f.Add([]byte("\ufeff{\"code\":\"1000\"}"), 500)
	retry := map[string]bool{"1001": true}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		r, err := ParseResponse(body)
		checkParse(t, r, err)
		a := Classify(Exchange{Written: true, HTTPStatus: status, Body: body}, retry)
		checkStorable(t, a, len(body))
		checkOutcome(t, a, status, err)
	})
}

// checkParse checks ParseResponse's own contract.
func checkParse(t *testing.T, r Response, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrEmptyBody) && !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrNoCode) {
			t.Fatalf("untyped parse error %v", err)
		}
		return
	}
	if r.Code == "" || strings.TrimSpace(r.Code) != r.Code {
		t.Fatalf("parsed code %q", r.Code)
	}
	if r.Receipt != nil {
		checkReceiptRoundTrip(t, *r.Receipt)
	}
}

// checkReceiptRoundTrip re-encodes a parsed receipt the way the provider
// would and parses it again: int64 ids must come back bit for bit. Ids kept
// in Overflow must be zero, and their text bounded and storable.
func checkReceiptRoundTrip(t *testing.T, want campaign.Receipt) {
	t.Helper()
	for name, text := range want.Overflow {
		id := map[string]int64{"msgId": want.MsgID, "newMsgId": want.NewMsgID, "createTime": want.CreateTime}
		v, known := id[name]
		if !known || v != 0 || text == "" || len(text) > maxOverflowText || !utf8.ValidString(text) || strings.ContainsRune(text, 0) {
			t.Fatalf("overflow %q: %q with the id at %d", name, text, v)
		}
	}
	want.Overflow = nil
	body, err := json.Marshal(map[string]any{"code": "1000", "data": map[string]any{
		"type": want.MsgType, "msgId": want.MsgID, "newMsgId": want.NewMsgID,
		"createTime": want.CreateTime, "wcId": want.WcID,
	}})
	if err != nil {
		t.Fatalf("re-encode receipt: %v", err)
	}
	again, err := ParseResponse(body)
	if err != nil || again.Receipt == nil || !reflect.DeepEqual(*again.Receipt, want) {
		t.Fatalf("receipt %+v did not survive a round trip: %+v, %v", want, again.Receipt, err)
	}
}

// checkStorable checks that every string of the attempt fits a PostgreSQL
// text column and respects its bound.
func checkStorable(t *testing.T, a campaign.Attempt, bodyLen int) {
	t.Helper()
	fields := map[string]string{"Code": a.Code, "Error": a.Error, "Response": a.Response}
	if a.Receipt != nil {
		fields["Receipt.WcID"] = a.Receipt.WcID
	}
	for name, s := range fields {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("%s %q is not storable text", name, s)
		}
	}
	if len(a.Response) > bodyLen || len(a.Code) > 64 || len(a.Error) > 400 {
		t.Fatalf("unbounded attempt: response %d/%d bytes, code %d, error %d", len(a.Response), bodyLen, len(a.Code), len(a.Error))
	}
}

// checkOutcome checks the classification against the parse result.
func checkOutcome(t *testing.T, a campaign.Attempt, status int, parseErr error) {
	t.Helper()
	if a.Outcome < campaign.OutcomeSent || a.Outcome > campaign.OutcomeAmbiguous {
		t.Fatalf("outcome %d", a.Outcome)
	}
	if (a.Outcome == campaign.OutcomeSent) != (a.Receipt != nil) {
		t.Fatalf("outcome %v with receipt %+v", a.Outcome, a.Receipt)
	}
	if a.Outcome != campaign.OutcomeSent && a.Error == "" {
		t.Fatalf("outcome %v without an explanation", a.Outcome)
	}
	ok := status >= 200 && status <= 299
	switch {
	case !ok && a.Outcome != statusOutcome(status):
		t.Fatalf("HTTP %d: outcome %v, want %v whatever the body", status, a.Outcome, statusOutcome(status))
	case ok && parseErr != nil && a.Outcome != campaign.OutcomeAmbiguous:
		t.Fatalf("HTTP %d with an unparseable body (%v): outcome %v, want ambiguous", status, parseErr, a.Outcome)
	case a.Outcome == campaign.OutcomeSent && (!ok || a.Code != CodeSent):
		t.Fatalf("sent from HTTP %d code %q", status, a.Code)
	}
}
