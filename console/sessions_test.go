package console

import (
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign/campaigntest"
)

// At maxSessions, a new login drops the expired sessions, or else the
// oldest one; never a live session picked at random.
func TestSessionsEvictTheOldest(t *testing.T) {
	clock := campaigntest.NewClock(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
	s := newSessions(clock)
	oldest := s.create(principal{})
	clock.Advance(time.Second)
	kept := make([]string, 0, maxSessions-1)
	for range maxSessions - 1 {
		kept = append(kept, s.create(principal{}))
	}
	clock.Advance(time.Second)
	newest := s.create(principal{})
	if _, ok := s.get(oldest); ok {
		t.Error("the oldest session outlived a login past maxSessions")
	}
	for _, id := range append(kept, newest) {
		if _, ok := s.get(id); !ok {
			t.Fatalf("a live session other than the oldest was dropped")
		}
	}
	clock.Advance(sessionTTL - time.Second) // the 9,999 expire, the newest not yet
	s.create(principal{})
	if n := len(s.byID); n != 2 {
		t.Errorf("%d sessions after every older one expired, want 2 (the newest and the new one)", n)
	}
}
