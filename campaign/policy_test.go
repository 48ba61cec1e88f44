package campaign

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 3, Backoff: time.Second, MaxBackoff: time.Minute}
	pAmb := p
	pAmb.Ambiguous = true
	receipt := &Receipt{MsgID: 1, NewMsgID: 7645748705605226305}
	tests := []struct {
		name        string
		policy      RetryPolicy
		attempt     int
		outcome     Outcome
		wantStatus  DeliveryStatus
		wantRetry   bool
		wantErrPart string
	}{
		{"sent", p, 1, OutcomeSent, DeliverySent, false, ""},
		{"retry first", p, 1, OutcomeRetry, DeliveryPending, true, "boom"},
		{"retry last", p, 3, OutcomeRetry, DeliveryFailed, false, "gave up after 3 attempts: boom"},
		{"failed", p, 1, OutcomeFailed, DeliveryFailed, false, "boom"},
		{"ambiguous", p, 1, OutcomeAmbiguous, DeliveryUnknown, false, "boom"},
		{"ambiguous allowed", pAmb, 1, OutcomeAmbiguous, DeliveryPending, true, "boom"},
		{"ambiguous allowed last", pAmb, 3, OutcomeAmbiguous, DeliveryUnknown, false, "gave up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Attempt{Outcome: tt.outcome, Error: "boom"}
			if tt.outcome == OutcomeSent {
				a = Attempt{Outcome: OutcomeSent, Receipt: receipt}
			}
			r := tt.policy.Decide(Delivery{ID: 1, Attempt: tt.attempt}, a)
			if r.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", r.Status, tt.wantStatus)
			}
			if (r.RetryIn > 0) != tt.wantRetry {
				t.Errorf("RetryIn = %v, want retry %v", r.RetryIn, tt.wantRetry)
			}
			if !strings.Contains(r.Error, tt.wantErrPart) || (tt.wantErrPart == "" && r.Error != "") {
				t.Errorf("error = %q, want it to contain %q", r.Error, tt.wantErrPart)
			}
			if r.Attempt.Receipt != a.Receipt {
				t.Errorf("attempt not carried into the result")
			}
		})
	}
}

func TestDelayDoublesWithJitterAndCap(t *testing.T) {
	p := RetryPolicy{Backoff: 2 * time.Second, MaxBackoff: 10 * time.Second}
	nominal := map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: 10 * time.Second, 60: 10 * time.Second}
	for attempt, want := range nominal {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.Delay(attempt)
			if d < want/2 || d > want {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", attempt, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Delay(%d) has no jitter: always %v", attempt, seen)
		}
	}
}
