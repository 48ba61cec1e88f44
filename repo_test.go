package broadcaster_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// maxTrackedSize is the largest file git may track: the docs' images fit,
// build outputs and data dumps do not.
const maxTrackedSize = 1 << 20

// Build outputs never belong in git: a binary is stale the moment the code
// changes, and bloats every clone for good. The check needs the checkout's
// .git, so it skips in a bare copy of the files (.ci/run runs it on the
// checkout itself before it copies it away).
func TestNoBuildOutputsTracked(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to check", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		info, err := os.Stat(name)
		if err != nil {
			continue // deleted in the work tree, not yet in the index
		}
		if info.Size() > maxTrackedSize {
			t.Errorf("%s: %d bytes tracked; files over %d bytes do not belong in git", name, info.Size(), maxTrackedSize)
		}
		if kind := objectKind(t, name); kind != "" {
			t.Errorf("%s is %s, a build output: remove it from git and cover it in .gitignore", name, kind)
		}
	}
}

// objectKind names the executable or object format whose magic number opens
// the file, or returns "" for anything else.
func objectKind(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := f.Read(head)
	head = head[:n]
	for _, m := range []struct {
		magic []byte
		kind  string
	}{
		{[]byte("\x7fELF"), "an ELF executable or object"},
		{[]byte("MZ"), "a Windows executable"},
		{[]byte("\xcf\xfa\xed\xfe"), "a Mach-O executable"},
		{[]byte("\xce\xfa\xed\xfe"), "a Mach-O executable"},
		{[]byte("\xca\xfe\xba\xbe"), "a Mach-O universal binary or Java class"},
		{[]byte("!<arch>\n"), "an ar archive (static library)"},
		{[]byte("\x00asm"), "a WebAssembly module"},
	} {
		if bytes.HasPrefix(head, m.magic) {
			return m.kind
		}
	}
	return ""
}

// What `make build` and `go build ./cmd/...` write must be ignored by git,
// so that it cannot be committed by accident.
func TestBuildOutputsIgnored(t *testing.T) {
	if _, err := exec.Command("git", "rev-parse", "--git-dir").Output(); err != nil {
		t.Skipf("not a git checkout (%v): nothing to check", err)
	}
	cmds, err := filepath.Glob("cmd/*")
	if err != nil {
		t.Fatal(err)
	}
	// bench/river is a module of its own, built where it lies.
	paths := []string{"bin/broadcaster", "x.test", "cpu.prof", "bench/river/river"}
	for _, dir := range cmds {
		name := filepath.Base(dir)
		paths = append(paths, name, filepath.Join(dir, name))
	}
	for _, p := range paths {
		if err := exec.Command("git", "check-ignore", "-q", "--no-index", p).Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore: a build could commit it", p)
		}
	}
	// The source of the commands must stay visible.
	for _, dir := range append(cmds, "bench/river") {
		p := filepath.Join(dir, "main.go")
		if exec.Command("git", "check-ignore", "-q", "--no-index", p).Run() == nil {
			t.Errorf("%s is ignored: .gitignore hides source", p)
		}
	}
}

// Nothing in the project may read outside its own repository: a user's
// clone has nothing beside it.
func TestNoPathsOutsideTheRepository(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to check", err)
	}
	outside := regexp.MustCompile(`\.\./(\.\./)*shared/`)
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if strings.HasSuffix(name, ".md") || name == "repo_test.go" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if loc := outside.FindIndex(b); loc != nil {
			line := bytes.Count(b[:loc[0]], []byte("\n")) + 1
			t.Errorf("%s:%d reads a path outside the repository", name, line)
		}
	}
}
