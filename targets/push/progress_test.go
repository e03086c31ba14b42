package push

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// script is what a push of one image with three blobs reports.
func script(p Progress) {
	repo := "ghcr.io/acme/app"
	p.Event(Event{Kind: EventPlanned, Image: "app", Repo: repo, Blobs: 3, Size: 3000, Tags: []string{"v1.0.0", "latest"}})
	p.Event(Event{Kind: EventSent, Repo: repo, Size: 1000})
	p.Event(Event{Kind: EventBlob, Repo: repo, Digest: hash("1"), Size: 1000, How: BlobUploaded})
	p.Event(Event{Kind: EventBlob, Repo: repo, Digest: hash("2"), Size: 1000, How: BlobMounted})
	p.Event(Event{Kind: EventBlob, Repo: repo, Digest: hash("3"), Size: 1000, How: BlobExisted})
	for range 5 {
		p.Event(Event{Kind: EventRetry, Err: errors.New("PUT /v2/acme/app/manifests/latest: 503 Service Unavailable")})
	}
	p.Event(Event{Kind: EventTagged, Repo: repo, Tag: "latest"})
	p.Event(Event{Kind: EventDone, Image: "app", Repo: repo, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}})
	p.Close()
}

func TestPlainProgress(t *testing.T) {
	var buf bytes.Buffer
	script(Plain(&buf))
	got := buf.String()
	for _, want := range []string{
		"pushing app to ghcr.io/acme/app: 3 blobs (3.0 kB), tags v1.0.0, latest\n",
		"pushing app to ghcr.io/acme/app: blob sha256:111111111111 (1.0 kB) uploaded [1/3]\n",
		"pushing app to ghcr.io/acme/app: blob sha256:222222222222 (1.0 kB) mounted [2/3]\n",
		"pushing app to ghcr.io/acme/app: blob sha256:333333333333 (1.0 kB) already there [3/3]\n",
		"pushed app to ghcr.io/acme/app@sha256:aaaa",
		"3/3 blobs: 1 uploaded (1.0 kB sent), 1 mounted, 1 already there\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plain output lacks %q:\n%s", want, got)
		}
	}
	// Every retry is a line of its own, with its cause.
	if n := strings.Count(got, "retrying: PUT /v2/acme/app/manifests/latest: 503 Service Unavailable\n"); n != 5 {
		t.Errorf("plain output has %d retry lines, want 5:\n%s", n, got)
	}
}

// TestPlainProgressLongUpload checks that a long upload reports how far it
// got every PlainInterval, and not more often.
func TestPlainProgressLongUpload(t *testing.T) {
	var buf bytes.Buffer
	p := Plain(&buf).(*plain)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	repo := "ghcr.io/acme/app"
	p.Event(Event{Kind: EventPlanned, Image: "app", Repo: repo, Blobs: 1, Size: 60_000_000})
	for range 60 { // one MB a second for a minute
		now = now.Add(time.Second)
		p.Event(Event{Kind: EventSent, Repo: repo, Size: 1_000_000})
	}
	got := buf.String()
	want := []string{"10.0 MB of 60.0 MB sent", "20.0 MB of 60.0 MB sent", "30.0 MB of 60.0 MB sent", "40.0 MB of 60.0 MB sent", "50.0 MB of 60.0 MB sent", "60.0 MB of 60.0 MB sent"}
	if n := strings.Count(got, " sent\n"); n != len(want) {
		t.Errorf("a one-minute upload reported %d times, want %d:\n%s", n, len(want), got)
	}
	for _, w := range want {
		if !strings.Contains(got, "pushing app to ghcr.io/acme/app: "+w+"\n") {
			t.Errorf("plain output lacks %q:\n%s", w, got)
		}
	}
}

func TestLiveProgress(t *testing.T) {
	var buf syncBuffer
	script(newLive(&buf, func() (int, int) { return 200, 40 }))
	got := buf.String()
	for _, want := range []string{"\x1b[J", "app → ghcr.io/acme/app  [======", "1.0 kB/3.0 kB", "3/3 blobs", "done sha256:aaaaaaaaaaaa", "5 retries; last: PUT /v2/acme/app/manifests/latest: 503 Service Unavailable"} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%q", want, got)
		}
	}
}

// TestLiveFitsAnyWidth replays a push into a live display at several
// terminal widths and checks that no line drawn is wider than the
// terminal, so nothing wraps.
func TestLiveFitsAnyWidth(t *testing.T) {
	for _, cols := range []int{20, 40, 80, 120, 300} {
		var buf syncBuffer
		l := newLive(&buf, func() (int, int) { return cols, 24 })
		repo := "registry.example.com:5000/some/rather/long/path/to/the/application"
		l.Event(Event{Kind: EventPlanned, Image: "application-with-a-long-name", Repo: repo, Blobs: 3, Size: 4_034_999})
		l.Event(Event{Kind: EventSent, Repo: repo, Size: 1_000_000})
		l.Event(Event{Kind: EventRetry, Err: errors.New("PUT https://registry.example.com:5000/v2/x/blobs/uploads/abc?_state=secret&digest=sha256:1234: connection reset by peer")})
		l.draw()
		l.Event(Event{Kind: EventDone, Image: "application-with-a-long-name", Repo: repo, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}})
		l.Close()
		got := buf.String()
		if strings.Contains(got, "_state=secret") {
			t.Errorf("at %d columns the display shows an upload URL's query: %q", cols, got)
		}
		for _, line := range strings.Split(got, "\n") {
			line = escapes.ReplaceAllString(line, "")
			if w := columns(line); w >= cols {
				t.Errorf("at %d columns a line is %d columns wide: %q", cols, w, line)
			}
		}
	}
}

var escapes = regexp.MustCompile(`\r|\x1b\[[0-9]*[AJK]`)

func TestCut(t *testing.T) {
	for _, tt := range []struct {
		in   string
		w    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 6, "hello…"},
		{"a → b", 4, "a →…"},
		{"日本語のテキスト", 7, "日本語…"},
		{"tab\there", 20, "tab here"},
		{"x", 0, ""},
	} {
		got := cut(tt.in, tt.w)
		if got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
		if columns(got) > max(tt.w, 0) {
			t.Errorf("cut(%q, %d) is %d columns wide", tt.in, tt.w, columns(got))
		}
	}
}

// TestFrameMovesByRows checks the redraw arithmetic: a frame goes back up
// by the screen rows the previous one takes at the current width (more
// rows than lines when the terminal narrowed and reflowed them), clears
// to the end of the screen and draws lines that fit.
func TestFrameMovesByRows(t *testing.T) {
	long := strings.Repeat("x", 200)
	first, widths := frame(nil, 120, 24, []string{long, "short", long})
	if strings.Contains(first, "\x1b[") && !strings.HasPrefix(first, "\r\x1b[J") {
		t.Errorf("first frame = %q, want it to start at the cursor without moving up", first[:10])
	}
	if diff := cmp.Diff([]int{119, 5, 119}, widths); diff != "" {
		t.Errorf("first frame's line widths (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name string
		cols int
		up   int
	}{
		{"same width", 120, 3},
		{"wider", 200, 3},
		{"narrowed to 80: the two long lines reflow onto two rows each", 80, 5},
		{"narrowed to 40: 119 columns take three rows", 40, 7},
	} {
		got, drawn := frame(widths, tt.cols, 24, []string{long, "short"})
		want := fmt.Sprintf("\r\x1b[%dA\x1b[J", tt.up)
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s: frame starts %q, want %q", tt.name, got[:min(len(got), 12)], want)
		}
		for i, w := range drawn {
			if w >= tt.cols {
				t.Errorf("%s: line %d is %d columns on a %d-column terminal", tt.name, i, w, tt.cols)
			}
		}
		if strings.Count(got, "\n") != 2 {
			t.Errorf("%s: frame draws %d lines, want 2", tt.name, strings.Count(got, "\n"))
		}
	}
}

// TestFrameFitsTheScreen checks that a display with more lines than the
// terminal has rows is shortened: a line scrolled off the top could not be
// redrawn.
func TestFrameFitsTheScreen(t *testing.T) {
	var lines []string
	for i := range 30 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	got, drawn := frame(nil, 80, 10, lines)
	if len(drawn) != 9 || !strings.Contains(got, "… and 22 more\n") {
		t.Errorf("30 lines on 10 rows drew %d lines:\n%s", len(drawn), got)
	}
}

func hash(c string) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(c, 64)} }

func TestQuietProgress(t *testing.T) {
	script(Quiet()) // must not panic or block
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
