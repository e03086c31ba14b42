package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// oddFiles measures the warm no-op of a large real CLI (crictl, in the
// vendored cri-tools) before and after its tree gains the files real
// repositories hold and the build never reads: committed dangling
// symlinks (as test fixtures have), and, untracked, a FIFO, a unix socket,
// a directory nobody may read and one that may be listed but not entered.
// The no-op must not change; Gantry's log of a no-op is kept to show
// whether it said the shortcut was off, and why.
func (b *bench) oddFiles(ctx context.Context) ([]row, []string, error) {
	a, err := b.vendored(ctx)
	if err != nil {
		return nil, nil, err
	}
	ts := b.tools(ctx, a, b.runs)
	for _, t := range ts { // the vendor scenario's build cache: same compile flags
		t.cache = filepath.Join(b.work, "cache-vendor")
	}
	if err := b.obeyPermissions(); err != nil {
		return nil, nil, err
	}
	defer func() { b.wrap = nil }()
	noop := func(label string) (row, error) {
		for _, t := range ts { // warm up
			if _, err := t.build(false); err != nil {
				return row{}, err
			}
		}
		time.Sleep(2500 * time.Millisecond)
		r := row{app: label, scenario: "warm no-op", median: map[string]time.Duration{}, cpu: map[string]time.Duration{}}
		for _, t := range ts {
			var ds, cpus []time.Duration
			for range max(b.runs, 5) {
				d, err := t.build(false)
				if err != nil {
					return row{}, err
				}
				ds, cpus = append(ds, d), append(cpus, t.cpu)
			}
			r.median[t.name], r.cpu[t.name] = median(ds), median(cpus)
		}
		return r, nil
	}
	clean, err := noop("crictl")
	if err != nil {
		return nil, nil, err
	}
	if err := addDanglingLinks(a.dir); err != nil {
		return nil, nil, err
	}
	if err := b.commit(ctx, a.dir, "dangling symlinks"); err != nil {
		return nil, nil, err
	}
	undo, err := addSpecialFiles(a.dir)
	defer undo()
	if err != nil {
		return nil, nil, err
	}
	odd, err := noop("crictl + odd files")
	if err != nil {
		return nil, nil, err
	}
	// What a no-op release says about the shortcut.
	env := []string{"GOCACHE=" + ts[1].cache, "GANTRY_IMAGE=" + a.name, "GANTRY_MAIN=" + a.main, "GANTRY_ALLOW_DIRTY=1",
		"GANTRY_BASE=" + b.base, "GANTRY_PROGRESS=plain", "GANTRY_SBOM=0"}
	out, err := b.output(ctx, a.dir, env, b.gantry, "release")
	if err != nil {
		return nil, nil, fmt.Errorf("release with odd files: %w", err)
	}
	var said []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "shortcut") || strings.Contains(l, "vendor/ matches") {
			said = append(said, strings.TrimSpace(strings.ReplaceAll(l, a.dir, "<app>")))
		}
	}
	return []row{clean, odd}, said, nil
}

// oddNames lists what addOddFiles adds, for the report.
var oddNames = []string{
	"testdata/missing -> /non/existing/file (committed)",
	"testdata/windows -> C:/Users/someone/file.txt (committed)",
	"docs/moved -> ../no-such-dir (committed, outside testdata)",
	"pkg/fifo (a FIFO)",
	"pkg/server.sock (a unix socket)",
	"testdata/private/ (mode 000, holding a Go file)",
	".cache/listonly/ (mode 600: listable, not enterable, holding a Go file)",
}

// addDanglingLinks adds oddNames' symlinks under dir.
func addDanglingLinks(dir string) error {
	for _, l := range [][2]string{{"testdata/missing", "/non/existing/file"}, {"testdata/windows", "C:/Users/someone/file.txt"}, {"docs/moved", "../no-such-dir"}} {
		p := filepath.Join(dir, l[0])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(l[1], p); err != nil {
			return err
		}
	}
	return nil
}

// addSpecialFiles adds the rest of oddNames under dir, untracked; undo
// makes the directories removable again.
func addSpecialFiles(dir string) (undo func(), err error) {
	var locked []string
	undo = func() {
		for _, d := range locked {
			os.Chmod(d, 0o755)
		}
	}
	pkg := filepath.Join(dir, "pkg")
	if err := syscall.Mkfifo(filepath.Join(pkg, "fifo"), 0o644); err != nil {
		return undo, fmt.Errorf("mkfifo: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(pkg, "server.sock"), Net: "unix"})
	if err != nil {
		return undo, err
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	// Where the go command does not look (testdata, _*, .*): in a
	// vendored module, go mod vendor walks every other directory and fails
	// on one it may not read, whatever Gantry does.
	for name, mode := range map[string]os.FileMode{"testdata/private": 0o000, ".cache/listonly": 0o600} {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return undo, err
		}
		if err := os.WriteFile(filepath.Join(d, "notes.go"), []byte("package private\n"), 0o644); err != nil {
			return undo, err
		}
		if err := os.Chmod(d, mode); err != nil {
			return undo, err
		}
		locked = append(locked, d)
	}
	return undo, nil
}

// obeyPermissions makes the measured commands obey file permissions: as
// root, they run under setpriv without the capabilities that let root read
// every directory (else an unreadable directory would not be one).
func (b *bench) obeyPermissions() error {
	if os.Geteuid() != 0 {
		return nil
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return fmt.Errorf("running as root, the odd-files scenario needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE: %w", err)
	}
	b.wrap = []string{setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"}
	return nil
}

// reportOdd writes the odd-files no-op next to the clean tree's.
func reportOdd(rows []row, said []string, runs int) error {
	head := []string{"app", "scenario", "go build", "gantry", "gantry CPU", "ko", "gantry/go build", "gantry/ko"}
	var cells [][]string
	for _, r := range rows {
		g, gt, k := r.median["go build"], r.median["gantry"], r.median["ko"]
		cells = append(cells, []string{r.app, r.scenario, secs(g), secs(gt), secs(r.cpu["gantry"]), secs(k), ratio(gt, g), ratio(gt, k)})
	}
	md, err := table(head, cells)
	if err != nil {
		return err
	}
	var sec strings.Builder
	sec.WriteString("\n## A tree with odd files\n\n")
	fmt.Fprintf(&sec, "Medians of %d runs, wall time (gantry also CPU: user + system), measured %s on: %s.\n\n", max(runs, 5), time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	sec.WriteString("- App: crictl in " + strings.TrimSuffix(criTools, "@v1.37.0") + " v1.37.0 (vendored, as in the vendor section), linux/amd64 and linux/arm64; then the same with, added: ")
	sec.WriteString("`" + strings.Join(oddNames, "`, `") + "`. The build reads none of them.\n")
	sec.WriteString("- What Gantry's no-op said about its shortcuts with the odd files in place (GANTRY_PROGRESS=plain, lines naming the shortcut or the vendor check):\n\n")
	if len(said) == 0 {
		sec.WriteString("      (nothing)\n")
	}
	for _, l := range said {
		sec.WriteString("      " + l + "\n")
	}
	sec.WriteString("\n")
	sec.WriteString(md)
	sec.WriteString("\n")
	return writeSection("odd", sec.String())
}
