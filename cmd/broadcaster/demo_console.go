package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"

	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// demoConsoleEvery is how often the demo's recurring campaign fires, so
// that the console always has a broadcast to show in progress soon.
const demoConsoleEvery = "@every 1m"

// serveConsole is the end of `demo --console`: it adds a recurring copy of
// the demo campaign (a run a minute, sent slowly enough to watch), then runs
// the daemon on the demo's database and simulated API with the console
// open, prints its address and freshly generated tokens, and serves until
// Ctrl-C. The deferred clean-up of run then removes the database.
func (d demo) serveConsole(ctx context.Context, store *db.Store, dbURL string, api *sendertest.Server, campaignID int64) error {
	id, err := store.SeedDemoRecurring(ctx, campaignID, "demo every minute", demoConsoleEvery)
	if err != nil {
		return err
	}
	d.step("campaign %d added: the same audience %s, to have a broadcast to watch", id, demoConsoleEvery)
	daemon := *d.app
	daemon.log = d.log
	daemon.cfg.Database.URL = dbURL
	daemon.cfg.API.BaseURL, daemon.cfg.API.Token = api.URL(), demoToken
	daemon.cfg.Workers.Concurrency = 2 // slow enough to watch progress move
	daemon.cfg.RateLimit.PerAccount, daemon.cfg.RateLimit.Jitter = 0, 0
	daemon.cfg.HTTP.Listen = d.console
	daemon.cfg.HTTP.Console = true
	daemon.cfg.HTTP.ConsoleReadToken, daemon.cfg.HTTP.ConsoleWriteToken = "read-"+demoSecret(), "write-"+demoSecret()
	if err := daemon.cfg.Validate(); err != nil {
		return err
	}
	daemon.onHTTP = func(addr net.Addr) {
		fmt.Fprintf(d.out, "\nThe operator console is open at http://%s/\n", addr)
		fmt.Fprintf(d.out, "  log in with any name and the write token: %s\n", daemon.cfg.HTTP.ConsoleWriteToken)
		fmt.Fprintf(d.out, "  (read-only token: %s; API calls: Authorization: Bearer <token>)\n", daemon.cfg.HTTP.ConsoleReadToken)
		fmt.Fprintln(d.out, "Press Ctrl-C to stop; the demo's database and simulated API go with it.")
	}
	return runRun(ctx, &daemon, nil)
}

// demoSecret is a fresh random token part for the demo's console.
func demoSecret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
