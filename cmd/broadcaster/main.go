// Command broadcaster sends scheduled WeChat applet broadcasts that operators
// define with SQL in PostgreSQL. Run `broadcaster --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	tuneGC(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{
		stdout: os.Stdout,
		stderr: os.Stderr,
		lookup: os.LookupEnv,
	})
	stop()
	os.Exit(code)
}
