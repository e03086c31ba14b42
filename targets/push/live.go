package push

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/gantrybuild/gantry/targets/internal/shared"
)

// Live redraws one line per image and repository on a terminal, a few times
// a second: a bar, bytes sent of the bytes to push, and blobs uploaded,
// mounted and already there; then a line with the retries and the last
// one's cause. Every line is cut to the terminal's width (read again at
// each redraw), so nothing wraps and a redraw leaves no stale copy.
func Live(w io.Writer) Progress {
	return newLive(w, terminalSize(w))
}

// terminalSize reads the size of the terminal w writes to, or assumes
// 80×24 when it is not one.
func terminalSize(w io.Writer) func() (cols, rows int) {
	f, ok := w.(*os.File)
	return func() (int, int) {
		if ok {
			if c, r, err := term.GetSize(int(f.Fd())); err == nil && c > 0 {
				return c, r
			}
		}
		return 80, 24
	}
}

func newLive(w io.Writer, size func() (int, int)) *live {
	l := &live{w: w, size: size, repos: map[string]*repoStats{}, state: map[string]string{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

const liveInterval = 150 * time.Millisecond

type live struct {
	mu        sync.Mutex
	w         io.Writer
	size      func() (cols, rows int)
	repos     map[string]*repoStats
	order     []string
	state     map[string]string // repo → "tagging", "done sha256:…"
	prev      []int             // widths of the lines drawn last time
	retries   int
	lastRetry string
	stop      chan struct{}
	done      chan struct{}
	once      sync.Once
}

func (l *live) Event(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Kind == EventRetry {
		l.retries++
		l.lastRetry = retryCause(e.Err)
		return
	}
	s := l.repos[e.Repo]
	if s == nil {
		s = &repoStats{}
		l.repos[e.Repo] = s
		l.order = append(l.order, e.Repo)
	}
	s.add(e)
	switch e.Kind {
	case EventTagged:
		l.state[e.Repo] = "tagging"
	case EventDone:
		l.state[e.Repo] = "done " + shortDigest(e.Digest.String())
	}
}

func (l *live) loop() {
	defer close(l.done)
	t := time.NewTicker(liveInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.draw()
		case <-l.stop:
			l.draw()
			return
		}
	}
}

func (l *live) Close() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
	})
}

func (l *live) draw() {
	cols, rows := l.size()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out string
	out, l.prev = frame(l.prev, cols, rows, l.lines(cols-1))
	io.WriteString(l.w, out)
}

// lines renders the display for a terminal cols columns wide: it drops
// detail (the blob counts, then the bar) before a line has to be cut.
func (l *live) lines(cols int) []string {
	var out []string
	for _, repo := range l.order {
		s := l.repos[repo]
		if s.blobs == 0 && s.image == "" {
			continue
		}
		size := fmt.Sprintf("%s/%s", shared.HumanSize(s.sent), shared.HumanSize(s.bytes))
		blobs := fmt.Sprintf("%d/%d blobs", s.uploaded+s.mounted+s.had, s.blobs)
		detail := fmt.Sprintf("(%d uploaded, %d mounted, %d already there)", s.uploaded, s.mounted, s.had)
		state := l.state[repo]
		candidates := [][]string{
			{bar(s.sent, s.bytes, 20), size, blobs, detail, state},
			{bar(s.sent, s.bytes, 20), size, blobs, state},
			{bar(s.sent, s.bytes, 10), size, blobs, state},
			{size, blobs, state},
			{blobs, state},
			{state},
		}
		line := ""
		for _, c := range candidates {
			// The repository gives way (its middle elided) before the
			// progress does, down to a recognisable 24 columns.
			rest := join(c)
			room := cols - columns(s.image+" → ") - columns(rest) - 2
			if room >= min(columns(repo), 24) || len(c) == 1 {
				line = join([]string{s.image + " → " + elide(repo, room), rest})
				break
			}
		}
		out = append(out, line)
	}
	if l.retries > 0 {
		out = append(out, fmt.Sprintf("%d retries; last: %s", l.retries, l.lastRetry))
	}
	return out
}

// elide shortens s to w columns by replacing its middle with "…", keeping
// the registry's start and the repository's end.
func elide(s string, w int) string {
	if columns(s) <= w {
		return s
	}
	if w < 3 {
		return cut(s, w)
	}
	r := []rune(s)
	tail := (w - 1) / 2
	head := w - 1 - tail
	if head+tail >= len(r) {
		return s
	}
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// join joins the non-empty fields with two spaces.
func join(fields []string) string {
	var kept []string
	for _, f := range fields {
		if f != "" {
			kept = append(kept, f)
		}
	}
	return strings.Join(kept, "  ")
}

// shortDigest shortens sha256:<64 hex> to its first 12 hex digits, as a
// person compares digests at a glance; the full digest is on stdout and in
// metadata.json.
func shortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

// retryCause is a retried error on one line, without the query strings
// (upload state, pre-signed storage signatures) a URL in it can hold.
func retryCause(err error) string {
	if err == nil {
		return "unknown cause"
	}
	return queryRE.ReplaceAllString(strings.Join(strings.Fields(err.Error()), " "), "$1?REDACTED")
}

// bar draws done/total as [=====>    ].
func bar(done, total int64, width int) string {
	if total <= 0 {
		total = 1
	}
	filled := int(min(done, total) * int64(width) / total)
	if filled >= width {
		return "[" + strings.Repeat("=", width) + "]"
	}
	return "[" + strings.Repeat("=", filled) + ">" + strings.Repeat(" ", width-filled-1) + "]"
}
