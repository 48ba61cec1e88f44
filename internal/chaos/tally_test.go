package chaos

import (
	"strings"
	"testing"
)

func TestCheckHoldsATallyToItsBound(t *testing.T) {
	for _, tt := range []struct {
		tally Tally
		bound int
		want  string // in the error; "" for none
	}{
		{Tally{Confirmed: 300, Sent: 296, Lost: 4}, 4, ""},
		{Tally{Confirmed: 300, Sent: 295, Lost: 5}, 4, "5 API-confirmed sends not recorded as sent, bound 4"},
		{Tally{Confirmed: 300, Sent: 300, Duplicates: 1}, 4, "1 recipients messaged twice"},
		{Tally{Confirmed: 10, Sent: 10, Open: 2}, 4, "2 deliveries left pending or sending"},
		{Tally{Confirmed: 300, Sent: 299, Lost: 1}, 0, "bound 0"},
	} {
		err := tt.tally.Check(tt.bound)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v.Check(%d) = %v, want %q", tt.tally, tt.bound, err, tt.want)
		}
	}
}

func TestBoundIsConcurrencyOrNoneWithAJournal(t *testing.T) {
	opts := Options{Concurrency: 8}
	if got := Bound(opts); got != 8 {
		t.Errorf("without a journal: %d, want 8", got)
	}
	opts.Journal = true
	if got := Bound(opts); got != 0 {
		t.Errorf("with a journal: %d, want 0", got)
	}
	// Answers on the wire at a kill are lost to any client.
	if got := (Experiment{Journal: true, InFlight: true}).Bound(opts); got != 8 {
		t.Errorf("killed with requests in flight, with a journal: %d, want 8", got)
	}
}
