package sendertest

import (
	"net/http"
	"time"

	"github.com/broadcaster/broadcaster/sender"
)

// Arrival is what a Cheap server keeps of a valid request.
type Arrival struct {
	// At is when the handler started on the request.
	At time.Time
	// WID is the request's wId: the sending account.
	WID string
}

// arrival is an Arrival stored without pointers, so that a million of them
// cost the garbage collector nothing to scan.
type arrival struct {
	at      int64  // UnixNano
	account uint32 // index into arrivalLog.accounts
}

// arrivalLog is the record of a Cheap server: arrivals, and each wId once.
type arrivalLog struct {
	list     []arrival
	accounts []string
	index    map[string]uint32
}

// addLocked records one arrival; s.mu must be held.
func (l *arrivalLog) addLocked(at time.Time, wID string) {
	i, ok := l.index[wID]
	if !ok {
		if l.index == nil {
			l.index = make(map[string]uint32)
		}
		i = uint32(len(l.accounts))
		l.accounts = append(l.accounts, wID)
		l.index[wID] = i
	}
	l.list = append(l.list, arrival{at: at.UnixNano(), account: i})
}

// Arrivals returns, for a server with Config.Cheap, when each valid request
// arrived and from which wId, in order of arrival; nil otherwise (see
// Requests).
func (s *Server) Arrivals() []Arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.arrivals.list) == 0 {
		return nil
	}
	out := make([]Arrival, len(s.arrivals.list))
	for i, a := range s.arrivals.list {
		out[i] = Arrival{At: time.Unix(0, a.at), WID: s.arrivals.accounts[a.account]}
	}
	return out
}

// serveCheaply is ServeHTTP for Config.Cheap: check lightly, note the
// arrival, wait out the latency, answer success with fresh ids.
func (s *Server) serveCheaply(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	body, rej := readBody(w, r)
	var in appletRequest
	if rej == nil {
		in, rej = checkRequestCheaply(r, body, s.token())
	}
	if rej != nil {
		rec := Request{Received: received, RemoteAddr: r.RemoteAddr, Header: r.Header.Clone(),
			WID: in.WID, WcID: in.WcID, Rejected: rej.reason, Status: rej.status, Code: CodeInvalid}
		rec.Header.Del("Authorization")
		s.addRejected(rec)
		if rej.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeBody(w, rej.status, errorBody(CodeInvalid, rej.reason))
		return
	}
	latency := s.admitCheaply(received, in.WID)
	if !sleep(r.Context(), latency) {
		s.settleUnanswered()
		abort(w)
		return
	}
	writeBody(w, http.StatusOK, successBody(s.settleSentCheaply(in.WcID)))
}

// admitCheaply records a valid request and returns its latency.
func (s *Server) admitCheaply(at time.Time, wID string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arrivals.addLocked(at, wID)
	s.stats.Requests++
	latency := s.cfg.Latency
	if s.cfg.LatencyJitter > 0 {
		latency += time.Duration(s.rng.Float64() * float64(s.cfg.LatencyJitter))
	}
	s.notifyLocked()
	return latency
}

// settleSentCheaply gives a request the next ids and counts it as sent.
func (s *Server) settleSentCheaply(wcID string) Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Request{WcID: wcID, Status: http.StatusOK, Code: sender.CodeSent,
		MsgID: s.nextMsgID, NewMsgID: s.nextNewMsgID, CreateTime: time.Now().Unix()}
	s.nextMsgID++
	s.nextNewMsgID++
	s.stats.Sent++
	s.notifyLocked()
	return rec
}
