package config

import (
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/logging"
	"github.com/broadcaster/broadcaster/sender"

	// Embedded zone data makes scheduler.timezone (and CRON_TZ) resolve the
	// same way on minimal container images that ship no /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Config is the complete set of settings of SPEC §8. The yaml tags are the
// key names; the env tag adds an extra, lower-precedence environment name.
// Keys, the loader and the docs are all derived from this struct, so adding a
// field here is the only step needed to add a key.
type Config struct {
	// Database says where campaigns, runs and deliveries live.
	Database Database `yaml:"database"`
	// API says how to reach the sendApplet endpoint.
	API API `yaml:"api"`
	// Workers bounds the requests in flight.
	Workers Workers `yaml:"workers"`
	// Retry says which failures are tried again and how patiently.
	Retry Retry `yaml:"retry"`
	// RateLimit keeps each sending account under WeChat's spam thresholds.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Breaker pauses an account that keeps failing.
	Breaker Breaker `yaml:"breaker"`
	// Scheduler controls how campaign firings are computed.
	Scheduler Scheduler `yaml:"scheduler"`
	// Log controls the log output.
	Log Log `yaml:"log"`
	// HTTP controls the optional health and metrics listener.
	HTTP HTTP `yaml:"http"`
	// Results says where API answers are kept until the database has them.
	Results Results `yaml:"results"`
	// Retention says how long deliveries and attempts are kept.
	Retention Retention `yaml:"retention"`
}

// Database is the database section.
type Database struct {
	// URL is a PostgreSQL connection string, URL or keyword/value form. It
	// may be empty at load time; commands that need it call RequireDatabase.
	URL string `yaml:"url" env:"DATABASE_URL"`
}

// API is the api section.
type API struct {
	// BaseURL is the provider's base URL; /sendApplet is appended to it.
	BaseURL string `yaml:"base_url"`
	// Token is sent as the Authorization header. It is a secret: never log
	// it; String and Redacted hide it.
	Token string `yaml:"token"`
	// Timeout bounds one sendApplet request, and the grace given to
	// in-flight requests at shutdown.
	Timeout time.Duration `yaml:"timeout"`
}

// Workers is the workers section.
type Workers struct {
	// Concurrency is the maximum number of sendApplet requests in flight in
	// one process.
	Concurrency int `yaml:"concurrency"`
}

// Retry is the retry section.
type Retry struct {
	// MaxAttempts counts every attempt, the first included; 1 disables
	// retries.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the pause before the first retry; it doubles each attempt.
	Backoff time.Duration `yaml:"backoff"`
	// MaxBackoff caps the doubled pause.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Codes are the API response codes worth retrying ("1001": busy).
	Codes []string `yaml:"codes"`
	// Ambiguous allows retrying attempts whose outcome is unknowable, at the
	// risk of a duplicate message.
	Ambiguous bool `yaml:"ambiguous"`
}

// RateLimit is the rate_limit section.
type RateLimit struct {
	// PerAccount is the sends per second allowed per w_id; 0 means
	// unlimited.
	PerAccount float64 `yaml:"per_account"`
	// Burst is how many sends may go out back to back before PerAccount
	// applies.
	Burst int `yaml:"burst"`
	// Jitter is the upper bound of a random extra pause between one
	// account's sends, so traffic does not look machine-regular.
	Jitter time.Duration `yaml:"jitter"`
}

// Breaker is the breaker section.
type Breaker struct {
	// ConsecutiveFailures is how many failed attempts in a row pause an
	// account; 0 disables the breaker.
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// CoolDown is how long a tripped account pauses before one probe.
	CoolDown time.Duration `yaml:"cool_down"`
}

// Scheduler is the scheduler section.
type Scheduler struct {
	// Timezone is the zone name as configured ("Local", "UTC",
	// "Asia/Shanghai"); kept for display and logs.
	Timezone string `yaml:"timezone"`
	// Location is Timezone resolved; set by Default and Load so schedulers
	// never resolve names themselves.
	Location *time.Location `yaml:"-"`
	// PollInterval is how often the database is checked for due firings
	// when no notification arrives.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MisfireGrace is how old a missed firing may be and still be caught up.
	MisfireGrace time.Duration `yaml:"misfire_grace"`
}

// Log is the log section.
type Log struct {
	// Level is a zerolog level name: trace, debug, info, warn, error, fatal,
	// panic or disabled.
	Level string `yaml:"level"`
	// Format is auto (console on a terminal, JSON otherwise), console or
	// json.
	Format string `yaml:"format"`
}

// HTTP is the http section.
type HTTP struct {
	// Listen is the host:port serving /healthz and /metrics; empty disables
	// the listener.
	Listen string `yaml:"listen"`
	// Console mounts the operator console under / on Listen. Off by
	// default: the console shows customer identifiers.
	Console bool `yaml:"console"`
	// ConsoleReadToken is required for any console page or /api/ call. It
	// is a secret: String and Redacted hide it.
	ConsoleReadToken string `yaml:"console_read_token"`
	// ConsoleWriteToken also allows the console's writes (pause, resume,
	// cancel, resend); empty means the console is read-only. A secret.
	ConsoleWriteToken string `yaml:"console_write_token"`
	// ConsoleTrustedProxy is the CIDR of the reverse proxy whose
	// X-Forwarded-For and X-Forwarded-Proto are believed; empty believes
	// none, so a client cannot forge the address written to audit_log.
	ConsoleTrustedProxy string `yaml:"console_trusted_proxy"`
}

// Results is the results section.
type Results struct {
	// Journal is the path of a local append-only journal of API answers,
	// synced before each database write and replayed at start, so that a
	// crash during a database outage loses no confirmed send. Empty: off.
	// Only useful where the file outlives the process (systemd
	// StateDirectory, a StatefulSet's volume).
	Journal string `yaml:"journal"`
}

// Retention is the retention section: the daemon's own pruning, the same as
// `broadcaster prune` run by hand.
type Retention struct {
	// PruneAfter is the age (e.g. 90d) beyond which the daemon drops whole
	// partitions of deliveries and attempts; 0 never prunes, so that no
	// audit history is lost until an operator chooses a period.
	PruneAfter time.Duration `yaml:"prune_after"`
	// ArchiveDir is the absolute directory where each pruned partition is
	// first written as gzip CSV with a manifest; empty: not archived.
	ArchiveDir string `yaml:"archive_dir"`
}

// Default returns the SPEC §8 defaults. Those of sending and scheduling
// belong to the packages that use them (campaign, sender) and are taken from
// there, so that each is written down once; only the log's are this
// package's own.
func Default() Config {
	retry, pacing := campaign.DefaultRetryPolicy(), campaign.DefaultPacing()
	return Config{
		API:     API{Timeout: sender.DefaultTimeout},
		Workers: Workers{Concurrency: campaign.DefaultConcurrency},
		Retry: Retry{
			MaxAttempts: retry.MaxAttempts,
			Backoff:     retry.Backoff,
			MaxBackoff:  retry.MaxBackoff,
			Codes:       sender.DefaultRetryCodes(),
			Ambiguous:   retry.Ambiguous,
		},
		RateLimit: RateLimit{PerAccount: pacing.PerSecond, Burst: pacing.Burst, Jitter: pacing.Jitter},
		Breaker:   Breaker{ConsecutiveFailures: pacing.BreakerFailures, CoolDown: pacing.BreakerCoolDown},
		Scheduler: Scheduler{
			Timezone:     "Local",
			Location:     time.Local,
			PollInterval: campaign.DefaultPollInterval,
			MisfireGrace: campaign.DefaultMisfireGrace,
		},
		Log: Log{Level: "info", Format: string(logging.FormatAuto)},
	}
}
