// Package config loads broadcaster's settings (SPEC §8) from a YAML file and
// the environment, validates them, and describes every key so documentation
// and the shipped config.yaml can be checked against the code.
//
// # Sources and precedence
//
// Later sources win, key by key:
//
//  1. the built-in defaults ([Default]);
//  2. the YAML file: the --config FILE given on the command line (it must
//     exist), otherwise ./config.yaml when it exists;
//  3. the environment.
//
// # Environment names
//
// Every key is settable as BROADCASTER_ + SECTION + _ + KEY in upper case:
// retry.backoff is BROADCASTER_RETRY_BACKOFF, rate_limit.per_account is
// BROADCASTER_RATE_LIMIT_PER_ACCOUNT. database.url is also read from the
// conventional DATABASE_URL; when both are set, BROADCASTER_DATABASE_URL wins
// because it is the more specific name (it lets one host run broadcaster
// beside other programs that use DATABASE_URL). [Keys] lists every name.
//
// Values are written as in the file: durations as "15s" or "2m", booleans as
// true/false (also 1/0, yes/no, on/off), lists such as retry.codes as
// comma-separated items ("1001,1002"). A variable that is set but empty counts
// as unset: shells, systemd units and compose files often export empty
// variables by accident, and an empty value would otherwise silently replace a
// deliberate value from the file. To clear a string key, clear it in the file.
//
// # Errors
//
// Every problem is a [*Error] naming the key (and the file line or variable it
// came from) and wrapping [ErrInvalid], so the command line maps it to exit
// code 2 with errors.Is or errors.As. Several problems are reported together
// (joined with errors.Join) so an operator fixes them in one pass.
package config
