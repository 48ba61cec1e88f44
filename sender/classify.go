package sender

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/broadcaster/broadcaster/campaign"
)

// Exchange is everything one sendApplet call produced, as far as it got. It
// holds facts, not judgements, so that Classify can be tested with every
// combination without a network.
type Exchange struct {
	// Written reports that the whole request was handed to the connection
	// (httptrace's WroteRequest fired without error). When no response
	// arrived it separates "never left" (safe to retry) from "may have
	// been delivered" (ambiguous). WroteRequest fires once the request is
	// in the connection's buffer, just before it is flushed, so a flush
	// that then fails still counts as written: the error is always on the
	// side of "ambiguous", never of a duplicate. The client also sets it
	// whenever a response arrived.
	Written bool
	// HTTPStatus is the response's status code, 0 when no response arrived.
	HTTPStatus int
	// Body is the response body as read: at most the client's limit.
	Body []byte
	// Truncated reports that the body was longer than the limit.
	Truncated bool
	// Err is why the call ended early: the round trip failed (HTTPStatus
	// is 0) or reading the body failed (HTTPStatus is set).
	Err error
}

// Classify decides what one exchange means for its delivery (SPEC §2). It is
// the only place where that decision is made, and it looks only at typed
// facts: the status, the parsed code, the Written flag and typed errors
// (errors.Is / errors.As), never at error text.
//
//   - No response, request not written (connection refused, DNS failure,
//     TLS handshake failure, dial timeout, context ended before writing):
//     Retry — the provider cannot have seen it.
//   - No response after the request was written (timeout, connection cut,
//     context ended): Ambiguous.
//   - HTTP 2xx: the body decides. Cut short, larger than the limit, or not a
//     JSON object with a code: Ambiguous. Code 1000: Sent. A code in
//     retryCodes: Retry. Any other code: Failed.
//   - HTTP 408, 429, 502, 503, 504: Retry. These come from the provider's
//     front (overload, rate limit, upstream down) before it acted.
//   - Other HTTP 3xx and 4xx: Failed. The request was refused as it stands
//     (bad token, wrong path, bad body); sending it again changes nothing.
//     Redirects are not followed, so a 3xx means a wrong base URL.
//   - HTTP 500 and every other status (501, 505, 5xx of proxies, codes
//     outside 100–599): Ambiguous. A 500 is the server failing while it
//     handled the request — possibly after WeChat accepted the message — so
//     retrying could send it twice; "unknown" is the safe reading.
//
// Separately from the outcome, Transport marks what says nothing about the
// sending account, only about the API as a whole: every exchange without an
// API code read from a 2xx answer (no response, a cut, late, oversize or
// unparseable body) and every HTTP status the API's front answers for
// itself (5xx and the other statuses outside 200–499, 408). A context
// cancelled by the caller is neither: it says nothing about the API. Plain
// 3xx and 4xx refuse this request as it stands, so they count against the
// account like an API code. So does 429: a rate limit is the API's answer
// about this request and its sender, and one account being limited must
// not pause every account on every instance; it is retried like a code in
// retry.codes, and like one counts towards the account's breaker.
//
// For a non-2xx answer whose body happens to be an API envelope, Code and the
// message are recorded for the audit, but the status decides: a gateway's
// status says more about the fate of the request than a body it relayed.
//
// The returned Attempt has Outcome, HTTPStatus, Code, Error, Response and,
// when sent, Receipt set; the caller adds the timing. A sent Attempt always
// has a non-nil Receipt, zero-valued when the answer carried no data, so
// that callers never dereference nil; the raw Response shows what was said.
// retryCodes may be nil (no code is retried).
func Classify(x Exchange, retryCodes map[string]bool) campaign.Attempt {
	if x.HTTPStatus == 0 {
		return classifyNoResponse(x)
	}
	a := campaign.Attempt{
		HTTPStatus: x.HTTPStatus,
		Response:   storableText(x.Body, len(x.Body)),
	}
	if x.HTTPStatus >= 200 && x.HTTPStatus <= 299 {
		return classifyBody(a, x, retryCodes)
	}
	return classifyStatus(a, x)
}

// classifyNoResponse handles calls that got no HTTP response at all.
func classifyNoResponse(x Exchange) campaign.Attempt {
	err := x.Err
	if err == nil {
		err = errors.New("no response")
	}
	a := campaign.Attempt{Outcome: campaign.OutcomeAmbiguous, Transport: !errors.Is(err, context.Canceled)}
	switch {
	case !x.Written:
		a.Outcome = campaign.OutcomeRetry
		a.Error = "request not sent: " + describeError(err)
	case isTimeout(err):
		a.Error = "timeout after request was written"
	case errors.Is(err, context.Canceled):
		a.Error = "cancelled after request was written"
	default:
		a.Error = "connection lost after request was written: " + describeError(err)
	}
	return a
}

// classifyBody handles 2xx answers, where only the API code says what
// happened.
func classifyBody(a campaign.Attempt, x Exchange, retryCodes map[string]bool) campaign.Attempt {
	a.Outcome = campaign.OutcomeAmbiguous
	a.Transport = true // until an API code is read
	switch {
	case x.Err != nil && isTimeout(x.Err):
		a.Error = fmt.Sprintf("timeout reading HTTP %d response", x.HTTPStatus)
		return a
	case x.Err != nil:
		a.Error = fmt.Sprintf("HTTP %d response cut: %s", x.HTTPStatus, describeError(x.Err))
		return a
	case x.Truncated:
		a.Error = fmt.Sprintf("HTTP %d response larger than %d bytes", x.HTTPStatus, len(x.Body))
		return a
	}
	r, err := ParseResponse(x.Body)
	if err != nil {
		a.Error = fmt.Sprintf("unparseable HTTP %d response: %s", x.HTTPStatus, shortText(err.Error()))
		return a
	}
	a.Code = storableCode(r.Code)
	a.Transport = false
	switch {
	case r.Code == CodeSent:
		a.Outcome = campaign.OutcomeSent
		a.Receipt = r.Receipt
		if a.Receipt == nil {
			a.Receipt = &campaign.Receipt{}
		}
	case retryCodes[r.Code]:
		a.Outcome = campaign.OutcomeRetry
		a.Error = describeCode(r)
	default:
		a.Outcome = campaign.OutcomeFailed
		a.Error = describeCode(r)
	}
	return a
}

// classifyStatus handles non-2xx answers, where the status decides.
func classifyStatus(a campaign.Attempt, x Exchange) campaign.Attempt {
	a.Outcome = statusOutcome(x.HTTPStatus)
	a.Transport = frontStatus(x.HTTPStatus)
	a.Error = describeStatus(x.HTTPStatus)
	if x.Err != nil || x.Truncated {
		return a
	}
	if r, err := ParseResponse(x.Body); err == nil {
		a.Code = storableCode(r.Code)
		a.Error += ": " + describeCode(r)
	}
	return a
}

// statusOutcome maps a non-2xx status to an outcome; see Classify.
func statusOutcome(status int) campaign.Outcome {
	switch {
	case status == http.StatusRequestTimeout,
		status == http.StatusTooManyRequests,
		status == http.StatusBadGateway,
		status == http.StatusServiceUnavailable,
		status == http.StatusGatewayTimeout:
		return campaign.OutcomeRetry
	case status >= 300 && status <= 499:
		return campaign.OutcomeFailed
	default:
		return campaign.OutcomeAmbiguous
	}
}

// frontStatus reports a non-2xx status that speaks for the API as a whole
// (its front timing out or failing) rather than answering this one request;
// see Classify.
func frontStatus(status int) bool {
	return status == http.StatusRequestTimeout || status < 200 || status > 499
}

// isTimeout reports a deadline of any kind: the context's, the client's
// overall timeout, or a transport stage timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// describeStatus writes "HTTP 502 Bad Gateway".
func describeStatus(status int) string {
	if text := http.StatusText(status); text != "" {
		return fmt.Sprintf("HTTP %d %s", status, text)
	}
	return fmt.Sprintf("HTTP %d", status)
}

// describeCode writes "code 1001: 失败".
func describeCode(r Response) string {
	if r.Message == "" {
		return "code " + shortText(r.Code)
	}
	return shortText("code " + r.Code + ": " + r.Message)
}

// describeError writes a transport error without the "Post \"URL\":" prefix
// that net/http adds: the URL is the same on every attempt.
func describeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return shortText(err.Error())
}
