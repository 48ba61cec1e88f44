package sendertest

import (
	"context"
	"net/http"
	"time"
)

// ServeHTTP handles one sendApplet request: validate, record, wait out the
// latency, then answer (or misbehave) as planned.
//
// Invalid requests are answered with an HTTP 4xx and the JSON error body
// {"message": reason, "code": "1002", "data": null}: 405 for a method other
// than POST, 404 for a path other than /sendApplet, 401 for a wrong token,
// 415 for a Content-Type other than application/json, 413 for a body over
// 1 MiB, 400 for any other problem with the body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.enter()
	defer s.leave()
	if s.cheap {
		s.serveCheaply(w, r)
		return
	}
	rec := Request{Received: time.Now(), RemoteAddr: r.RemoteAddr, Header: r.Header.Clone()}
	rec.Header.Del("Authorization")
	body, rej := readBody(w, r)
	var in appletRequest
	if rej == nil {
		in, rej = checkRequest(r, body, s.token())
	}
	rec.WID, rec.WcID, rec.ImgURL, rec.Content = in.WID, in.WcID, in.ImgURL, in.Content
	if rej != nil {
		rec.Rejected, rec.Status, rec.Code = rej.reason, rej.status, CodeInvalid
		s.addRejected(rec)
		if rej.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeBody(w, rej.status, errorBody(CodeInvalid, rej.reason))
		return
	}
	p := s.admit(rec)
	if !sleep(r.Context(), p.latency) {
		s.settleUnanswered()
		abort(w)
		return
	}
	s.answer(w, r, p)
}

// answer carries out a plan once its latency has passed.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, p plan) {
	switch p.fault.Kind {
	case FaultCode:
		s.settleFailed(p.index, p.fault.Code)
		writeBody(w, http.StatusOK, errorBody(p.fault.Code, p.fault.Message))
	case FaultHTTP:
		s.settleHTTPError(p.index, p.fault.Status)
		writeBody(w, p.fault.Status, []byte(p.fault.Body))
	case FaultHang:
		<-r.Context().Done()
		s.settleUnanswered()
		abort(w)
	case FaultCut:
		cut(w, successBody(s.settleSent(p.index)))
	case FaultDrop:
		s.settleUnanswered()
		abort(w)
	default:
		writeBody(w, http.StatusOK, successBody(s.settleSent(p.index)))
	}
}

// sleep waits d unless ctx ends first; it reports whether the wait was
// completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
