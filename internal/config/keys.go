package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts every environment name, so broadcaster's variables are
// easy to list and never collide with other programs' settings.
const envPrefix = "BROADCASTER_"

// Key describes one setting. Keys are derived from Config's struct tags, so
// the loader, this list and any documentation generated or tested from it
// cannot disagree.
type Key struct {
	// Path is the dotted YAML path, such as "retry.backoff".
	Path string
	// Env lists the environment names that set the key, highest precedence
	// first: BROADCASTER_DATABASE_URL before DATABASE_URL.
	Env []string
	// Type names the accepted syntax: string, integer, number, boolean,
	// duration or list (comma-separated in the environment).
	Type string
	// Default is the default value as it is written in the environment:
	// "15s", "0.5", "1001", or "" for an empty string.
	Default string
}

// Keys lists every key in file order (section by section, as in SPEC §8)
// with its environment names and default.
func Keys() []Key {
	def := Default()
	fields := leaves(&def)
	keys := make([]Key, len(fields))
	for i, f := range fields {
		keys[i] = f.key
		keys[i].Default = formatValue(f.value)
	}
	return keys
}

// UnknownEnv returns the names in environ (os.Environ's NAME=value form)
// that start with BROADCASTER_ but set no key, usually a misspelling that
// would otherwise be ignored without a word. The command line decides whether
// to warn or refuse.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{}
	for _, k := range Keys() {
		for _, name := range k.Env {
			known[name] = true
		}
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) && !known[name] {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

// leaf is one settable field of a particular Config value.
type leaf struct {
	key     Key
	section string
	name    string
	value   reflect.Value // addressable field inside the Config
}

// leaves walks the two levels of c (sections, then keys) in declaration
// order, skipping fields tagged yaml:"-" such as Scheduler.Location.
func leaves(c *Config) []leaf {
	root := reflect.ValueOf(c).Elem()
	var out []leaf
	for i := range root.NumField() {
		section := yamlName(root.Type().Field(i))
		if section == "" {
			continue
		}
		sv := root.Field(i)
		for j := range sv.NumField() {
			f := sv.Type().Field(j)
			name := yamlName(f)
			if name == "" {
				continue
			}
			out = append(out, leaf{
				key: Key{
					Path: section + "." + name,
					Env:  envNames(section, name, f),
					Type: typeName(sv.Field(j)),
				},
				section: section,
				name:    name,
				value:   sv.Field(j),
			})
		}
	}
	return out
}

// yamlName returns the key name from the yaml tag, "" for skipped fields.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// envNames returns the BROADCASTER_ name and then any env-tag alias, which
// is lower precedence because it is the less specific name.
func envNames(section, name string, f reflect.StructField) []string {
	names := []string{envPrefix + strings.ToUpper(section+"_"+name)}
	if alias := f.Tag.Get("env"); alias != "" {
		names = append(names, alias)
	}
	return names
}

// isDuration tells time.Duration fields from plain int64 ones.
func isDuration(v reflect.Value) bool {
	return v.Type() == reflect.TypeFor[time.Duration]()
}

// typeName names the syntax a field accepts, for docs and Key.Type.
func typeName(v reflect.Value) string {
	switch {
	case isDuration(v):
		return "duration"
	case v.Kind() == reflect.Int:
		return "integer"
	case v.Kind() == reflect.Float64:
		return "number"
	case v.Kind() == reflect.Bool:
		return "boolean"
	case v.Kind() == reflect.Slice:
		return "list"
	default:
		return "string"
	}
}

// formatValue writes a field the way it is written in the environment, so
// the same text round-trips through setText.
func formatValue(v reflect.Value) string {
	switch {
	case isDuration(v):
		return FormatDuration(time.Duration(v.Int()))
	case v.Kind() == reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case v.Kind() == reflect.Slice:
		return strings.Join(v.Interface().([]string), ",")
	default:
		return v.String()
	}
}

// setText parses s according to the field's type and stores it. The error
// text quotes the value and says what was expected; callers add key and
// source.
func setText(v reflect.Value, s string) error {
	switch {
	case isDuration(v):
		d, err := ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 2s, 500ms, 90d)", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Float64:
		f, err := parseNumber(s)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		b, err := parseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case v.Kind() == reflect.Slice:
		v.Set(reflect.ValueOf(splitList(s)))
	default:
		v.SetString(s)
	}
	return nil
}

// parseNumber accepts finite decimal numbers only: NaN or Inf would make a
// rate limit meaningless.
func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number (e.g. 0.5)", s)
	}
	return f, nil
}

// parseBool accepts strconv's forms plus yes/no and on/off, which YAML 1.1
// habits and shell scripts commonly use.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "on":
		return true, nil
	case "no", "off":
		return false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("%q is not a boolean (true or false)", s)
	}
	return b, nil
}

// splitList splits a comma-separated environment list, trimming spaces.
// Empty items are kept so validation can point them out.
func splitList(s string) []string {
	items := strings.Split(s, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return items
}
