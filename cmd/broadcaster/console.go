package main

import (
	"fmt"
	"net/netip"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/console"
	"github.com/broadcaster/broadcaster/db"
)

// newConsole builds the operator console on store from the http.console_*
// keys (validated at load).
func (a *app) newConsole(store *db.Store) (*console.Console, error) {
	var proxy netip.Prefix
	if p := a.cfg.HTTP.ConsoleTrustedProxy; p != "" {
		var err error
		if proxy, err = netip.ParsePrefix(p); err != nil {
			return nil, fmt.Errorf("http.console_trusted_proxy: %w", err)
		}
	}
	pacing := a.dispatchConfig().Pacing
	return console.New(console.Config{
		ReadToken:    a.cfg.HTTP.ConsoleReadToken,
		WriteToken:   a.cfg.HTTP.ConsoleWriteToken,
		TrustedProxy: proxy,
		Location:     a.cfg.Scheduler.Location,
		Pacing:       pacing,
		Clock:        campaign.SystemClock{},
		Log:          a.log,
	}, store, store)
}
