package push

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Live redraws one line per image and repository on a terminal, a few times
// a second: a bar, bytes sent of the bytes to push, and blobs uploaded,
// mounted and already there.
func Live(w io.Writer) Progress {
	l := &live{w: w, repos: map[string]*repoStats{}, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

const liveInterval = 150 * time.Millisecond

type live struct {
	mu      sync.Mutex
	w       io.Writer
	repos   map[string]*repoStats
	order   []string
	state   map[string]string // repo → "tagging", "done"
	lines   int               // lines drawn last time
	retries int
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func (l *live) Event(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.repos[e.Repo]
	if s == nil {
		s = &repoStats{}
		l.repos[e.Repo] = s
		l.order = append(l.order, e.Repo)
	}
	s.add(e)
	if l.state == nil {
		l.state = map[string]string{}
	}
	switch e.Kind {
	case EventTagged:
		l.state[e.Repo] = "tagging"
	case EventDone:
		l.state[e.Repo] = "done " + e.Digest.String()
	case EventRetry:
		l.retries++
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
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	if l.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", l.lines) // back to the first line drawn
	}
	order := slices.Clone(l.order)
	n := 0
	for _, repo := range order {
		s := l.repos[repo]
		if s.blobs == 0 && s.image == "" {
			continue
		}
		fmt.Fprintf(&b, "\r\x1b[K%s → %s %s %s/%s  %s", s.image, repo, bar(s.sent, s.bytes, 20),
			HumanSize(s.sent), HumanSize(s.bytes), s)
		if st := l.state[repo]; st != "" {
			fmt.Fprintf(&b, "  %s", st)
		}
		b.WriteString("\n")
		n++
	}
	if l.retries > 0 {
		fmt.Fprintf(&b, "\r\x1b[K%d retries\n", l.retries)
		n++
	}
	l.lines = n
	io.WriteString(l.w, b.String())
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
