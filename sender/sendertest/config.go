package sendertest

import (
	"maps"
	"time"

	"github.com/broadcaster/broadcaster/sender"
)

// Config sets how a Server behaves. It is read at New and can be changed
// while serving with Server.Update, so a test or a simulation can turn
// trouble on and off mid-run.
//
// For each valid request the first matching rule applies:
//
//  1. Faults[wcId], when present;
//  2. Fault, when its Kind is not FaultNone;
//  3. code 1001 while the wcId has had no more than FailFirst requests;
//  4. code 1001 with probability FailRate;
//  5. an HTTP 502 page with probability ErrorRate;
//  6. success: code 1000 with fresh ids.
//
// Latency (plus a random part up to LatencyJitter) is waited before any of
// them, including faults.
type Config struct {
	// Token is the Authorization value the server requires; "" accepts any.
	Token string
	// Latency is added before every answer.
	Latency time.Duration
	// LatencyJitter adds a random extra delay in [0, LatencyJitter).
	LatencyJitter time.Duration
	// FailFirst answers code 1001 to the first FailFirst requests for each
	// wcId, then succeeds: the shape of the provider's transient failures.
	FailFirst int
	// FailRate answers code 1001 at random with this probability (0..1).
	FailRate float64
	// ErrorRate answers an HTTP 502 HTML page (as nginx does when the
	// provider's backend is down) at random with this probability (0..1).
	ErrorRate float64
	// Faults are per-recipient misbehaviours, keyed by wcId: e.g.
	// {"bob": Code("1001", "")} always answers 1001 for bob, and an entry
	// holding the zero Fault always succeeds, whatever the other rules say.
	Faults map[string]Fault
	// Fault applies to every request for which Faults has no entry.
	Fault Fault
	// Cheap makes the server cost its host as little as it can, so that a
	// benchmark running it in-process measures the client rather than the
	// fake: it still checks the method, path, token, Content-Type and that
	// the body is a JSON object of exactly the four non-empty string fields,
	// but not imgUrl nor the applet XML; every valid request succeeds after
	// Latency (plus jitter), whatever the fault rules above say; and instead
	// of a Request per valid request it keeps only when it arrived and from
	// which wId (see Arrivals), so Requests lists only rejected ones. Read at
	// New: Update cannot change it.
	Cheap bool
	// Seed seeds the random choices (rates and jitter). The same seed and
	// the same order of requests give the same choices; a simulation that
	// wants variety passes a seed from the clock.
	Seed uint64
}

// clone copies c so that the caller's map and the server's never alias.
func (c Config) clone() Config {
	c.Faults = maps.Clone(c.Faults)
	return c
}

// FaultKind names a way the fake API misbehaves.
type FaultKind int

const (
	// FaultNone answers normally.
	FaultNone FaultKind = iota
	// FaultCode answers HTTP 200 with an API code other than 1000 and data
	// null, like the provider's documented error answer.
	FaultCode
	// FaultHTTP answers an HTTP status with a body, by default an
	// nginx-style HTML error page — what a gateway in front of the
	// provider says when it is overloaded or its backend is down.
	FaultHTTP
	// FaultHang never answers: the request waits until the client gives up
	// or the server stops, and then its connection is closed. The message
	// is not sent.
	FaultHang
	// FaultCut sends the message (it gets ids and counts as sent), then
	// closes the connection halfway through the response body: the client
	// cannot know it succeeded.
	FaultCut
	// FaultDrop closes the connection after reading the request, without a
	// byte of answer. The message is not sent, but the client cannot know.
	FaultDrop
)

// String names the fault kind for test failures and simulation output.
func (k FaultKind) String() string {
	switch k {
	case FaultNone:
		return "none"
	case FaultCode:
		return "code"
	case FaultHTTP:
		return "http"
	case FaultHang:
		return "hang"
	case FaultCut:
		return "cut"
	case FaultDrop:
		return "drop"
	default:
		return "invalid"
	}
}

// Fault is one misbehaviour. Build it with Code, HTTPError, Hang, Cut or
// Drop; the zero Fault is "answer normally".
type Fault struct {
	Kind FaultKind
	// Code and Message are the answer of a FaultCode ("1001", "失败" when
	// empty).
	Code    string
	Message string
	// Status and Body are the answer of a FaultHTTP (502 and an HTML page
	// for the status when zero/empty).
	Status int
	Body   string
}

// Code answers HTTP 200 with the given API code and message, e.g.
// Code("1001", "") for the provider's retryable failure.
func Code(code, message string) Fault {
	return Fault{Kind: FaultCode, Code: code, Message: message}
}

// HTTPError answers the given HTTP status and body; an empty body becomes an
// nginx-style HTML page. HTTPError(200, "") is a 200 that is not JSON.
func HTTPError(status int, body string) Fault {
	return Fault{Kind: FaultHTTP, Status: status, Body: body}
}

// Hang never answers; see FaultHang.
func Hang() Fault { return Fault{Kind: FaultHang} }

// Cut sends and then cuts the response; see FaultCut.
func Cut() Fault { return Fault{Kind: FaultCut} }

// Drop closes the connection without answering; see FaultDrop.
func Drop() Fault { return Fault{Kind: FaultDrop} }

// Default answers of faults, as the provider's documentation shows them.
const (
	defaultFailCode    = sender.CodeFailed
	defaultFailMessage = "失败"
	defaultErrorStatus = 502
)

// withDefaults fills a fault's empty fields.
func (f Fault) withDefaults() Fault {
	switch f.Kind {
	case FaultCode:
		if f.Code == "" {
			f.Code = defaultFailCode
		}
		if f.Message == "" {
			f.Message = defaultFailMessage
		}
	case FaultHTTP:
		if f.Status == 0 {
			f.Status = defaultErrorStatus
		}
		if f.Body == "" {
			f.Body = htmlErrorPage(f.Status)
		}
	}
	return f
}
