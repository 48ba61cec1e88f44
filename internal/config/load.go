package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultPath is the file read when no --config is given; it is optional.
const DefaultPath = "config.yaml"

// Load returns the defaults overlaid by the YAML file at path and then by the
// environment, validated.
//
// explicit says the path came from --config: a missing file is then an
// error, while the default path (used when path is "") is read only if it
// exists. lookup is os.LookupEnv in production and a map in tests; nil means
// an empty environment. Every error wraps ErrInvalid.
func Load(path string, explicit bool, lookup func(string) (string, bool)) (Config, error) {
	cfg := Default()
	l := newLoader(&cfg)
	if path == "" && !explicit {
		path = DefaultPath
	}
	l.readFile(path, explicit)
	l.readEnv(lookup)
	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	if err := l.validate(); err != nil {
		return Config{}, err
	}
	loc, err := time.LoadLocation(cfg.Scheduler.Timezone)
	if err != nil { // unreachable after validate; kept so Location is never nil
		return Config{}, &Error{Key: "scheduler.timezone", Msg: err.Error(), Err: err}
	}
	cfg.Scheduler.Location = loc
	return cfg, nil
}

// loader fills one Config and remembers where each value came from, so a
// validation error can point at the file line or variable to fix.
type loader struct {
	cfg      *Config
	fields   []leaf
	byPath   map[string]leaf
	sections []string
	origin   map[string]string
	errs     []error
}

// newLoader indexes cfg's fields by path and collects the section names.
func newLoader(cfg *Config) *loader {
	l := &loader{cfg: cfg, byPath: map[string]leaf{}, origin: map[string]string{}}
	l.fields = leaves(cfg)
	for _, f := range l.fields {
		l.byPath[f.key.Path] = f
		if len(l.sections) == 0 || l.sections[len(l.sections)-1] != f.section {
			l.sections = append(l.sections, f.section)
		}
	}
	return l
}

// fail records a problem; loading goes on so all problems are reported.
func (l *loader) fail(e *Error) { l.errs = append(l.errs, e) }

// readFile decodes the file, tolerating only a missing default file.
func (l *loader) readFile(path string, explicit bool) {
	if path == "" {
		l.fail(&Error{Msg: "--config needs a file name"})
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return
		}
		l.fail(&Error{Source: path, Msg: "cannot read config file: " + cause(err), Err: err})
		return
	}
	l.decode(path, data)
}

// cause drops the "open FILE" prefix a *fs.PathError repeats.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// decode parses one YAML document and applies it key by key. Walking the
// node tree, rather than unmarshalling into the struct, gives full key paths
// and line numbers in every message.
func (l *loader) decode(name string, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			l.fail(&Error{Source: name, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "), Err: err})
		}
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		l.fail(&Error{Source: name, Msg: "holds more than one YAML document; keep only one"})
		return
	}
	l.decodeRoot(name, deref(&doc))
}

// deref unwraps the document node and follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return n
}

// isNull reports a missing or null value, which leaves the default in place
// (as yaml.v3 does when unmarshalling), so "url:" with nothing after it is
// harmless.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.DocumentNode || n.ShortTag() == "!!null"
}

// at names a node's position as FILE:LINE for error sources.
func at(name string, n *yaml.Node) string {
	return fmt.Sprintf("%s:%d", name, n.Line)
}

// decodeRoot applies the top-level mapping section by section.
func (l *loader) decodeRoot(name string, root *yaml.Node) {
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		l.fail(&Error{Source: at(name, root), Msg: "the top level must be a mapping of sections (" + strings.Join(l.sections, ", ") + ")"})
		return
	}
	for _, p := range l.pairs(name, "", root) {
		if !slices.Contains(l.sections, p.key) {
			l.fail(unknownKey(at(name, p.keyNode), "", p.key, l.sections))
			continue
		}
		l.decodeSection(name, p.key, deref(p.value))
	}
}

// decodeSection applies one section's keys.
func (l *loader) decodeSection(name, section string, n *yaml.Node) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.fail(&Error{Source: at(name, n), Key: section, Msg: "must be a mapping of keys, not " + describe(n)})
		return
	}
	for _, p := range l.pairs(name, section+".", n) {
		f, ok := l.byPath[section+"."+p.key]
		if !ok {
			l.fail(unknownKey(at(name, p.keyNode), section+".", p.key, l.namesIn(section)))
			continue
		}
		l.decodeLeaf(name, f, deref(p.value))
	}
}

// decodeLeaf parses one value and records the line it came from.
func (l *loader) decodeLeaf(name string, f leaf, n *yaml.Node) {
	if isNull(n) {
		return
	}
	var err error
	switch {
	case n.Kind == yaml.ScalarNode:
		err = setText(f.value, n.Value)
	case n.Kind == yaml.SequenceNode && f.value.Kind() == reflect.Slice:
		err = setSequence(f, n)
	default:
		err = fmt.Errorf("must be a single value, not %s", describe(n))
	}
	if err != nil {
		l.fail(&Error{Source: at(name, n), Key: f.key.Path, Msg: err.Error()})
		return
	}
	l.origin[f.key.Path] = at(name, n)
}

// setSequence stores a YAML list of scalars; numbers such as [1001] are
// taken as their text since API codes are compared as strings.
func setSequence(f leaf, n *yaml.Node) error {
	items := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			return fmt.Errorf("item %d must be a single value, not %s", i+1, describe(item))
		}
		items = append(items, item.Value)
	}
	f.value.Set(reflect.ValueOf(items))
	return nil
}

// describe names a node's shape for "must be ..., not ..." messages.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

// pair is one key/value of a YAML mapping.
type pair struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// pairs lists a mapping's entries, reporting duplicate and non-scalar keys,
// which yaml.v3 only catches when unmarshalling into Go values.
func (l *loader) pairs(name, prefix string, m *yaml.Node) []pair {
	seen := map[string]int{}
	var out []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := deref(m.Content[i])
		if k.Kind != yaml.ScalarNode {
			l.fail(&Error{Source: at(name, k), Msg: "keys must be plain names, not " + describe(k)})
			continue
		}
		if line, dup := seen[k.Value]; dup {
			l.fail(&Error{Source: at(name, k), Key: prefix + k.Value, Msg: fmt.Sprintf("duplicate key (first on line %d)", line)})
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{key: k.Value, keyNode: k, value: m.Content[i+1]})
	}
	return out
}

// namesIn lists the key names of a section, for typo suggestions.
func (l *loader) namesIn(section string) []string {
	var names []string
	for _, f := range l.fields {
		if f.section == section {
			names = append(names, f.name)
		}
	}
	return names
}

// unknownKey reports a misspelt or unsupported key, suggesting the closest
// known one because most unknown keys are typos.
func unknownKey(source, prefix, key string, known []string) *Error {
	msg := "unknown key"
	if best := closest(key, known); best != "" {
		msg += fmt.Sprintf(" (did you mean %s%s?)", prefix, best)
	}
	return &Error{Source: source, Key: prefix + key, Msg: msg}
}

// readEnv applies the environment over the file. Set-but-empty variables
// count as unset (see the package documentation).
func (l *loader) readEnv(lookup func(string) (string, bool)) {
	if lookup == nil {
		return
	}
	for _, f := range l.fields {
		for _, name := range f.key.Env {
			s, ok := lookup(name)
			if !ok || s == "" {
				continue
			}
			if err := setText(f.value, s); err != nil {
				l.fail(&Error{Source: name, Key: f.key.Path, Msg: err.Error()})
			} else {
				l.origin[f.key.Path] = name
			}
			break
		}
	}
}

// validate checks the merged result, pointing each problem at the file line
// or variable that supplied the value.
func (l *loader) validate() error {
	problems := l.cfg.problems()
	errs := make([]error, len(problems))
	for i, p := range problems {
		if p.Source == "" {
			p.Source = l.origin[p.Key]
		}
		errs[i] = p
	}
	return errors.Join(errs...)
}
