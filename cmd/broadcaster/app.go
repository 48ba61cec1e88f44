package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/internal/config"
	"github.com/broadcaster/broadcaster/internal/logging"
)

// Exit codes (SPEC §7).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// errUsage marks a command-line mistake: exit code 2.
var errUsage = errors.New("usage")

// env is the process's outside world, passed in so tests can run commands
// in-process with their own output and environment.
type env struct {
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"migrate", "apply schema.sql to the database (safe to repeat)", runMigrate},
		{"run", "send: as a daemon until signalled, or with --once as a batch job", runRun},
		{"report", "print campaign_run_summary, and per-delivery detail for one run", runReport},
		{"resend", "re-send a run's failed and/or unknown deliveries as a new run", runResend},
		{"check", "validate configuration, database and every active campaign", runCheck},
		{"demo", "zero-config showcase: throwaway database, simulated API, one campaign", runDemo},
		{"simulate", "serve a stand-in sendApplet API for trials and load tests", runSimulate},
		{"prune", "drop whole monthly partitions of old deliveries, archiving them first", runPrune},
	}
}

// app is what every command shares once the configuration is loaded.
type app struct {
	env
	cfg        config.Config
	log        zerolog.Logger
	configPath string
	explicit   bool
	// onHTTP, when set, learns the address http.listen was bound to
	// (demo --console prints it).
	onHTTP func(net.Addr)
}

// run parses the global flags, picks the command and maps its error to an
// exit code. It is main without the process: tests call it directly.
func run(ctx context.Context, args []string, e env) int {
	a := &app{env: e}
	fs := flag.NewFlagSet("broadcaster", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&a.configPath, "config", "", "configuration `file` (default ./config.yaml if present)")
	fs.Usage = func() {} // printed below, to stdout for --help and stderr for mistakes
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(e.stdout, fs)
			return exitOK
		}
		usage(e.stderr, fs)
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) { a.explicit = a.explicit || f.Name == "config" })
	if fs.NArg() == 0 {
		usage(e.stderr, fs)
		return exitUsage
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	for _, c := range commands() {
		if c.name == name {
			return a.exec(ctx, c, rest)
		}
	}
	fmt.Fprintf(e.stderr, "broadcaster: unknown command %q (see broadcaster --help)\n", name)
	return exitUsage
}

func (a *app) exec(ctx context.Context, c command, args []string) int {
	if err := a.load(); err != nil {
		fmt.Fprintf(a.stderr, "broadcaster: %v\n", err)
		return exitUsage
	}
	err := c.run(ctx, a, args)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage), errors.Is(err, config.ErrInvalid), errors.Is(err, logging.ErrInvalid):
		fmt.Fprintf(a.stderr, "broadcaster %s: %v\n", c.name, err)
		return exitUsage
	default:
		a.log.Error().Str("command", c.name).Msg(err.Error())
		fmt.Fprintf(a.stderr, "broadcaster %s: %v\n", c.name, err)
		return exitFailure
	}
}

// load reads the configuration and builds the logger.
func (a *app) load() error {
	cfg, err := config.Load(a.configPath, a.explicit, a.lookup)
	if err != nil {
		return err
	}
	log, err := logging.New(a.stderr, cfg.Log.Level, cfg.Log.Format, logging.IsTerminal(a.stderr))
	if err != nil {
		return err
	}
	a.cfg, a.log = cfg, log
	return nil
}

// flags returns a flag set for a command. Its usage is printed by parse:
// to stdout when asked for with --help, to stderr after a mistake.
func (a *app) flags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: broadcaster [--config FILE] %s %s\n\noptions:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a command's flags; a bad flag is a usage error, -h is help.
func (a *app) parse(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(a.stdout)
		usage()
		return err
	case err != nil:
		usage()
		return fmt.Errorf("%w: %v", errUsage, err)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString("broadcaster sends scheduled WeChat applet broadcasts defined with SQL in PostgreSQL.\n\n")
	b.WriteString("usage: broadcaster [--config FILE] COMMAND [options]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\nglobal options:\n")
	fmt.Fprint(w, b.String())
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, "\nRun `broadcaster COMMAND --help` for a command's options. Configuration: config.yaml\n"+
		"and BROADCASTER_* environment variables (see README). Exit codes: 0 success,\n"+
		"1 runtime failure, 2 usage or configuration error.\n")
}
