package sendertest

import (
	"net/http"
	"testing"

	"github.com/broadcaster/broadcaster/sender"
)

func TestCheapChecksEnvelopeAndJSON(t *testing.T) {
	s := start(t, Config{Cheap: true, Fault: Code("1001", "")})
	c := httpClient(t)
	tests := []struct {
		name   string
		body   []byte
		token  string
		status int
		code   string
	}{
		{"valid", bodyFor(t, "alice"), testToken, http.StatusOK, sender.CodeSent},
		{"XML not looked at", body(t, "w", "bob", "not a url", "not xml"), testToken, http.StatusOK, sender.CodeSent},
		{"wrong token", bodyFor(t, "carol"), "nope", http.StatusUnauthorized, CodeInvalid},
		{"not JSON", []byte("<appmsg/>"), testToken, http.StatusBadRequest, CodeInvalid},
		{"extra field", []byte(`{"wId":"w","wcId":"d","imgUrl":"u","content":"c","x":"y"}`), testToken, http.StatusBadRequest, CodeInvalid},
		{"empty field", body(t, "w", "", "u", "c"), testToken, http.StatusBadRequest, CodeInvalid},
		{"number for a string", []byte(`{"wId":"w","wcId":1,"imgUrl":"u","content":"c"}`), testToken, http.StatusBadRequest, CodeInvalid},
		{"two values", append(bodyFor(t, "erin"), []byte(`{}`)...), testToken, http.StatusBadRequest, CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, t.Context(), s, tt.body)
			req.Header.Set("Authorization", tt.token)
			status, _, a := exchange(t, c, req)
			if status != tt.status || a.Code != tt.code {
				t.Errorf("answer %d %q, want %d %q", status, a.Code, tt.status, tt.code)
			}
		})
	}
}

func TestCheapKeepsArrivalsAndGivesUniqueIDs(t *testing.T) {
	s := start(t, Config{Cheap: true})
	seen := map[string]bool{}
	for _, wcID := range []string{"alice", "bob", "alice"} {
		status, a := send(t, s, wcID)
		if status != http.StatusOK || a.Code != sender.CodeSent {
			t.Fatalf("answer %d %q", status, a.Code)
		}
		r := decodeReceipt(t, a)
		if seen[r.NewMsgID.String()] || r.WcID != wcID {
			t.Errorf("receipt %+v: newMsgId repeated or wcId not %q", r, wcID)
		}
		seen[r.NewMsgID.String()] = true
	}
	arrivals := s.Arrivals()
	if len(arrivals) != 3 {
		t.Fatalf("%d arrivals, want 3", len(arrivals))
	}
	for i, a := range arrivals {
		if a.WID == "" || a.At.IsZero() || (i > 0 && a.At.Before(arrivals[i-1].At)) {
			t.Errorf("arrival %d %+v: no wId, no time, or out of order", i, a)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests recorded in full, want none", n)
	}
	if st := s.Stats(); st.Requests != 3 || st.Sent != 3 || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
}
