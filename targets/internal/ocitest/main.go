package ocitest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// Main runs a test package's tests as every Gantry test package that needs
// outside clients does, from its TestMain: a developer's GOFLAGS (set
// globally on some machines) kept from the builds the tests run; after the
// tests, cleanup (e.g. sigstoretest.StopShared); then, outside CI, one line
// naming the clients whose tests were skipped because they are missing,
// and the command that installs them and runs every test.
func Main(m *testing.M, cleanup ...func()) {
	os.Unsetenv("GOFLAGS")
	code := m.Run()
	for _, f := range cleanup {
		f()
	}
	if os.Getenv("CI") != "true" {
		reportSkips()
	}
	os.Exit(code)
}

// RunAllCommand runs every test with every client installed.
const RunAllCommand = "bash .ci/run"

// skipped counts, per missing client, the tests of this binary it skipped.
var skipped = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// SkipMissing skips t because the clients it needs are not installed,
// counting it for the line Main prints; under CI=true, where .ci/run
// installs every client, it fails t instead.
func SkipMissing(t testing.TB, clients ...string) {
	t.Helper()
	what := strings.Join(clients, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not on PATH; .ci/run must install every client", what)
	}
	skipped.Lock()
	for _, c := range clients {
		skipped.n[c]++
	}
	skipped.Unlock()
	t.Skipf("%s not on PATH (%s installs every client)", what, RunAllCommand)
}

// reportSkips writes the line about skipped clients. go test shows a
// passing package's output only with -v, so the line goes to the terminal
// (/dev/tty) when there is one, else to stdout. The test binaries of one
// `go test ./...` share a record (keyed by the go command's process) so a
// client is named once per run, by the first package that skipped it.
func reportSkips() {
	skipped.Lock()
	counts := skipped.n
	skipped.Unlock()
	if len(counts) == 0 {
		return
	}
	clients := newClients(slices.Sorted(maps.Keys(counts)))
	if len(clients) == 0 {
		return
	}
	tests := 0
	for _, c := range clients {
		tests += counts[c]
	}
	line := skipLine(testPackage(), tests, clients)
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprintln(tty, line)
		tty.Close()
		return
	}
	fmt.Println(line)
}

// skipLine is the one line about a package's skipped tests.
func skipLine(pkg string, tests int, clients []string) string {
	s := "s"
	if tests == 1 {
		s = ""
	}
	return fmt.Sprintf("gantry: %s skipped %d test%s: not installed: %s (`%s` installs every client and runs all tests)",
		pkg, tests, s, strings.Join(clients, ", "), RunAllCommand)
}

// newClients returns the clients no other test binary of this go test run
// has named yet, and records them. Without the record (no temp dir, say)
// every client is new.
func newClients(clients []string) []string {
	dir := filepath.Join(os.TempDir(), "gantry-test-skips")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return clients
	}
	lock := flock.New(filepath.Join(dir, ".lock"))
	if err := lock.Lock(); err != nil {
		return clients
	}
	defer lock.Unlock()
	record := filepath.Join(dir, strconv.Itoa(os.Getppid()))
	var named []string
	if fi, err := os.Stat(record); err == nil && time.Since(fi.ModTime()) < 6*time.Hour { // older: another run's, with a reused pid
		if data, err := os.ReadFile(record); err == nil {
			named = strings.Fields(string(data))
		}
	}
	var out []string
	for _, c := range clients {
		if !slices.Contains(named, c) {
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		os.WriteFile(record, []byte(strings.Join(append(named, out...), "\n")+"\n"), 0o644)
	}
	return out
}

// testPackage names the package under test by its directory, relative to
// the module root (the test binary runs in the package's directory).
func testPackage() string {
	wd, err := os.Getwd()
	if err != nil {
		return "a package"
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if rel, err := filepath.Rel(d, wd); err == nil {
				return filepath.ToSlash(rel)
			}
			return wd
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}
