package campaign

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy decides what an attempt means for its delivery (SPEC §2, §6).
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, the first included
	Backoff     time.Duration // delay before the second attempt; doubled each time
	MaxBackoff  time.Duration // cap on the delay
	Ambiguous   bool          // retry attempts whose fate is unknowable
}

// DefaultRetryPolicy is the retry section's defaults (SPEC §8): five
// attempts in all, two seconds before the second, doubling up to ten
// minutes, and never a retry that could duplicate a message.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, Backoff: 2 * time.Second, MaxBackoff: 10 * time.Minute}
}

// Decide turns one attempt into the delivery's next state.
func (p RetryPolicy) Decide(d Delivery, a Attempt) Result {
	r := Result{Delivery: d, Attempt: a, Error: a.Error}
	switch a.Outcome {
	case OutcomeSent:
		r.Status, r.Error = DeliverySent, ""
	case OutcomeRetry:
		p.retry(&r, DeliveryFailed)
	case OutcomeAmbiguous:
		if p.Ambiguous {
			p.retry(&r, DeliveryUnknown)
		} else {
			r.Status = DeliveryUnknown
		}
	default:
		r.Status = DeliveryFailed
	}
	return r
}

// retry schedules another attempt, or gives up with status final once the
// delivery has had all its attempts.
func (p RetryPolicy) retry(r *Result, final DeliveryStatus) {
	if r.Delivery.Attempt >= p.MaxAttempts {
		r.Status = final
		r.Error = fmt.Sprintf("gave up after %d attempts: %s", r.Delivery.Attempt, r.Attempt.Error)
		return
	}
	r.Status = DeliveryPending
	r.RetryIn = p.Delay(r.Delivery.Attempt)
}

// Delay is the wait after the given attempt failed: Backoff doubled per
// attempt, capped at MaxBackoff, with "equal jitter" — half fixed, half
// random — so that a burst of 1001s spreads out but never comes back sooner
// than half the nominal delay.
func (p RetryPolicy) Delay(attempt int) time.Duration {
	d := p.Backoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
