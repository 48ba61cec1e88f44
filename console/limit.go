package console

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"

	"github.com/broadcaster/broadcaster/campaign"
)

const (
	loginBurst   = 5
	loginEvery   = 10 * time.Second
	maxAddresses = 10000
)

// loginLimiter allows each client address a few failed credentials (login
// form or Bearer token), then one every ten seconds. It remembers the
// maxAddresses most recently seen addresses; the least recently seen is
// forgotten first, so a flood of new addresses cannot reset one that keeps
// guessing.
type loginLimiter struct {
	clock  campaign.Clock
	mu     sync.Mutex
	byAddr *simplelru.LRU[string, *addrLimit]
}

// addrLimit is one address's allowance. Its mutex is held while a
// credential is compared, so parallel guesses from one address queue and
// together cannot exceed the allowance.
type addrLimit struct {
	mu  sync.Mutex
	lim *rate.Limiter
}

func newLoginLimiter(clock campaign.Clock) *loginLimiter {
	byAddr, _ := simplelru.NewLRU[string, *addrLimit](maxAddresses, nil) // fails only for a size below one
	return &loginLimiter{clock: clock, byAddr: byAddr}
}

func (l *loginLimiter) limit(addr string) *addrLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.byAddr.Get(addr)
	if !ok {
		a = &addrLimit{lim: rate.NewLimiter(rate.Every(loginEvery), loginBurst)}
		l.byAddr.Add(addr, a)
	}
	return a
}

// try runs valid, the comparison of a credential addr presents, unless addr
// has no failures left; a false valid spends one. allowed is false when
// valid was not run.
func (l *loginLimiter) try(addr string, valid func() bool) (ok, allowed bool) {
	a := l.limit(addr)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := l.clock.Now()
	if a.lim.TokensAt(now) < 1 {
		return false, false
	}
	if valid() {
		return true, true
	}
	a.lim.AllowN(now, 1)
	return false, true
}
