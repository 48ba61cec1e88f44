package campaign

import (
	"context"
	"time"
)

// Message is one sendApplet request: the four string fields the API takes.
// Content is the rendered <appmsg> element, ImgURL the rendered cover URL.
type Message struct {
	WID     string
	WcID    string
	ImgURL  string
	Content string
}

// Outcome is what one attempt means for its delivery (SPEC §2). It is decided
// once, by the sender, so that retry policy never depends on error strings.
type Outcome int

const (
	// OutcomeSent: the API answered code 1000; the message went out.
	OutcomeSent Outcome = iota + 1
	// OutcomeRetry: the message certainly did not go out (a retry code such
	// as 1001, a refused connection, HTTP 408/429/502/503/504): retry later.
	OutcomeRetry
	// OutcomeFailed: a permanent refusal (another code, another HTTP 4xx).
	OutcomeFailed
	// OutcomeAmbiguous: it is unknowable whether the message went out
	// (timeout after the request was written, a cut or unparseable response).
	OutcomeAmbiguous
)

// String names the outcome for logs and the delivery_attempts table.
func (o Outcome) String() string {
	switch o {
	case OutcomeSent:
		return "sent"
	case OutcomeRetry:
		return "retry"
	case OutcomeFailed:
		return "failed"
	case OutcomeAmbiguous:
		return "ambiguous"
	default:
		return "invalid"
	}
}

// Receipt is the API's data object for a sent message. NewMsgID exceeds 2^53
// and must never pass through a float64.
type Receipt struct {
	MsgType    int
	MsgID      int64
	NewMsgID   int64
	CreateTime int64
	WcID       string
	// Overflow keeps, by the API's field name ("msgId", "newMsgId",
	// "createTime"), the text of an id that does not fit an int64 (beyond
	// 2^63-1, in float notation, not a number), whose field above is then
	// zero. An audit must see the id the provider gave, never lose it.
	// nil when every id fits.
	Overflow map[string]string
}

// Attempt is everything known about one sendApplet call, kept whole in
// delivery_attempts so operators can audit what the API said.
type Attempt struct {
	Outcome    Outcome
	StartedAt  time.Time
	Duration   time.Duration
	HTTPStatus int      // 0 when no HTTP response arrived
	Code       string   // the API's code, as a string; "" when none was read
	Error      string   // short human description of a non-sent outcome
	Response   string   // raw response body (bounded), "" when none
	Receipt    *Receipt // set when Outcome is OutcomeSent
	// Transport marks a failure of the API as a whole rather than of the
	// account: no usable HTTP answer (connection refused or reset, DNS,
	// TLS, timeouts, an unreadable body) or an HTTP-level refusal from its
	// front (5xx, 408). Such attempts pause sending globally (Outage)
	// and never count against the account's circuit breaker.
	Transport bool
}

// Sender sends one message. It never returns a Go error: every way a call can
// end is an Attempt with an Outcome, so the dispatcher's decisions are total.
type Sender interface {
	Send(ctx context.Context, m Message) Attempt
}
