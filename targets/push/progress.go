package push

import (
	"fmt"
	"io"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Progress is told what a push does as it happens. Event is called from
// many goroutines; Close once, after the last event.
type Progress interface {
	Event(Event)
	Close()
}

// EventKind says what happened.
type EventKind int

const (
	EventPlanned  EventKind = iota + 1 // Image goes to Repo: Blobs blobs of Size bytes, Tags
	EventSent                          // Size more bytes of blob data were sent to Repo
	EventBlob                          // blob Digest (Size bytes) is in Repo: How
	EventManifest                      // manifest Digest is in Repo
	EventTagged                        // Tag of Repo names Digest
	EventRetry                         // something failed and is tried again: Err
	EventDone                          // Repo has Image, index Digest, every tag in place
)

// Event is one thing that happened during a push.
type Event struct {
	Kind   EventKind
	Image  string // image name
	Repo   string // registry/repository
	Digest v1.Hash
	Size   int64
	Blobs  int
	How    BlobOutcome
	Tag    string
	Tags   []string
	Err    error
}

// Quiet reports nothing.
func Quiet() Progress { return quiet{} }

type quiet struct{}

func (quiet) Event(Event) {}
func (quiet) Close()      {}

// Plain reports a few log lines per image, for CI logs: what will be pushed
// and, at the end, what was uploaded and what was already there.
func Plain(w io.Writer) Progress { return &plain{w: w, repos: map[string]*repoStats{}} }

type plain struct {
	mu      sync.Mutex
	w       io.Writer
	repos   map[string]*repoStats
	retries int
}

// repoStats is the tally of one image in one repository.
type repoStats struct {
	image                         string
	blobs, uploaded, mounted, had int
	bytes, sent                   int64
}

func (s *repoStats) add(e Event) {
	switch e.Kind {
	case EventPlanned:
		s.image, s.blobs, s.bytes = e.Image, e.Blobs, e.Size
	case EventSent:
		s.sent += e.Size
	case EventBlob:
		switch e.How {
		case BlobUploaded:
			s.uploaded++
		case BlobMounted:
			s.mounted++
		default:
			s.had++
		}
	}
}

func (s *repoStats) String() string {
	return fmt.Sprintf("%d/%d blobs: %d uploaded (%s sent), %d mounted, %d already there",
		s.uploaded+s.mounted+s.had, s.blobs, s.uploaded, HumanSize(s.sent), s.mounted, s.had)
}

func (p *plain) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.repos[e.Repo]
	if s == nil {
		s = &repoStats{}
		p.repos[e.Repo] = s
	}
	s.add(e)
	switch e.Kind {
	case EventPlanned:
		fmt.Fprintf(p.w, "pushing %s to %s: %d blobs (%s), tags %s\n", e.Image, e.Repo, e.Blobs, HumanSize(e.Size), strings.Join(e.Tags, ", "))
	case EventRetry:
		p.retries++
		if p.retries <= 3 {
			fmt.Fprintf(p.w, "retrying: %s\n", queryRE.ReplaceAllString(strings.Join(strings.Fields(e.Err.Error()), " "), "$1?REDACTED"))
		} else if p.retries == 4 {
			fmt.Fprintf(p.w, "retrying more (further retries are counted, not logged)\n")
		}
	case EventDone:
		fmt.Fprintf(p.w, "pushed %s to %s@%s: %s\n", s.image, e.Repo, e.Digest, s)
	}
}

func (p *plain) Close() {}

// HumanSize writes n bytes in SI units: 950 B, 4.2 MB.
func HumanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
