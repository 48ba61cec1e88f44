package sendertest

import (
	"context"
	"net/http"
	"time"

	"github.com/broadcaster/broadcaster/sender"
)

// Request is what the server saw of one request and what it did about it,
// so that a test can check both what a client sent and what the "provider"
// believes happened — e.g. that a cut answer was in fact a sent message.
type Request struct {
	// Received is when the handler started on the request.
	Received time.Time
	// RemoteAddr is the client's address; distinct values count the
	// connections a client opened.
	RemoteAddr string
	// Header is the request's header without Authorization.
	Header http.Header
	// The body's four fields; empty when the body could not be decoded.
	WID, WcID, ImgURL, Content string
	// Attempt numbers the valid requests for this WcID, from 1; 0 for a
	// rejected request.
	Attempt int
	// Rejected says why the request was refused as invalid; "" if valid.
	Rejected string
	// Fault is the misbehaviour chosen for the request.
	Fault FaultKind
	// Status is the HTTP status answered, 0 while none was written (the
	// request is still being handled, hung, dropped, or was abandoned).
	Status int
	// Code is the API code answered, "" when none.
	Code string
	// MsgID, NewMsgID and CreateTime are the receipt of a sent message.
	MsgID, NewMsgID, CreateTime int64
}

// Sent reports whether the server considers the message sent: it answered
// code 1000, or began to before cutting the connection.
func (r Request) Sent() bool { return r.Code == sender.CodeSent }

// Stats counts what the server did.
type Stats struct {
	// Requests counts requests received, valid or not.
	Requests int
	// Rejected counts requests refused as invalid.
	Rejected int
	// Sent counts messages sent (code 1000, cut answers included).
	Sent int
	// Failed counts answers with another API code (1001, …).
	Failed int
	// HTTPErrors counts injected HTTP error answers.
	HTTPErrors int
	// Unanswered counts requests that got no answer: hung, dropped, or
	// abandoned by the client (or a stopping server) during the latency.
	Unanswered int
	// InFlight is the number of requests being handled now.
	InFlight int
	// MaxInFlight is the most requests handled at once since the start.
	MaxInFlight int
}

// Requests returns a copy of every request received so far, in order of
// arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// Stats returns the current counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// MaxInFlight returns the most requests the server handled at once: with a
// client's pool of n connections it should never exceed n.
func (s *Server) MaxInFlight() int { return s.Stats().MaxInFlight }

// Wait blocks until cond holds for the server's counts or ctx ends, so that
// tests wait for events ("3 requests arrived", "nothing in flight") rather
// than sleep. cond is called without locks held and may call the Server.
func (s *Server) Wait(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		st, changed := s.stats, s.changed
		s.mu.Unlock()
		if cond(st) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes every Wait. It must be called with s.mu held, after a
// change.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// enter counts a request in flight.
func (s *Server) enter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.InFlight++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.stats.InFlight)
	s.notifyLocked()
}

// leave counts a request done.
func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.InFlight--
	s.notifyLocked()
}

// addRejected records a request refused as invalid.
func (s *Server) addRejected(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	s.stats.Requests++
	s.stats.Rejected++
	s.notifyLocked()
}

// plan is what the server will do with one valid request.
type plan struct {
	index   int // into s.requests
	fault   Fault
	latency time.Duration
}

// admit records a valid request and decides its fate, all under one lock so
// that attempt numbers and random draws follow arrival order.
func (s *Server) admit(rec Request) plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[rec.WcID]++
	rec.Attempt = s.attempts[rec.WcID]
	// Always draw both numbers, so that a seed gives the same sequence
	// whatever the configuration.
	chance, jitter := s.rng.Float64(), s.rng.Float64()
	p := plan{
		index:   len(s.requests),
		fault:   s.chooseFaultLocked(rec.WcID, rec.Attempt, chance),
		latency: s.cfg.Latency,
	}
	if s.cfg.LatencyJitter > 0 {
		p.latency += time.Duration(jitter * float64(s.cfg.LatencyJitter))
	}
	rec.Fault = p.fault.Kind
	s.requests = append(s.requests, rec)
	s.stats.Requests++
	s.notifyLocked()
	return p
}

// chooseFaultLocked applies the rules documented on Config.
func (s *Server) chooseFaultLocked(wcID string, attempt int, chance float64) Fault {
	if f, ok := s.cfg.Faults[wcID]; ok {
		return f.withDefaults()
	}
	switch {
	case s.cfg.Fault.Kind != FaultNone:
		return s.cfg.Fault.withDefaults()
	case attempt <= s.cfg.FailFirst:
		return Code("", "").withDefaults()
	case chance < s.cfg.FailRate:
		return Code("", "").withDefaults()
	case chance < s.cfg.FailRate+s.cfg.ErrorRate:
		return HTTPError(0, "").withDefaults()
	}
	return Fault{}
}

// settleSent gives a request the next ids and records it as sent.
func (s *Server) settleSent(index int) Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &s.requests[index]
	rec.Status, rec.Code = http.StatusOK, sender.CodeSent
	rec.MsgID, rec.NewMsgID = s.nextMsgID, s.nextNewMsgID
	rec.CreateTime = time.Now().Unix()
	s.nextMsgID++
	s.nextNewMsgID++
	s.stats.Sent++
	s.notifyLocked()
	return *rec
}

// settleFailed records an answer with another API code.
func (s *Server) settleFailed(index int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[index].Status, s.requests[index].Code = http.StatusOK, code
	s.stats.Failed++
	s.notifyLocked()
}

// settleHTTPError records an injected HTTP error.
func (s *Server) settleHTTPError(index, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[index].Status = status
	s.stats.HTTPErrors++
	s.notifyLocked()
}

// settleUnanswered records a request left without an answer.
func (s *Server) settleUnanswered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Unanswered++
	s.notifyLocked()
}
