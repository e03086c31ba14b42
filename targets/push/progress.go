package push

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/shared"
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

// Plain reports progress as log lines, for CI logs where a redrawn display
// cannot work: what will be pushed; a line each time a blob is in place
// (uploaded, mounted or already there); while bytes are being sent, a line
// every PlainInterval with how much of the image has gone; every retry
// with its cause; and at the end, what each repository got.
func Plain(w io.Writer) Progress {
	return &plain{w: w, repos: map[string]*repoStats{}, now: time.Now, every: PlainInterval}
}

// PlainInterval is how often Plain reports an upload in progress.
const PlainInterval = 10 * time.Second

type plain struct {
	mu    sync.Mutex
	w     io.Writer
	repos map[string]*repoStats
	now   func() time.Time
	every time.Duration
}

// repoStats is the tally of one image in one repository.
type repoStats struct {
	image                         string
	blobs, uploaded, mounted, had int
	bytes, sent                   int64
	reported                      time.Time // when Plain last reported bytes sent
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
		s.uploaded+s.mounted+s.had, s.blobs, s.uploaded, shared.HumanSize(s.sent), s.mounted, s.had)
}

func (p *plain) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Kind == EventRetry {
		fmt.Fprintf(p.w, "retrying: %s\n", retryCause(e.Err))
		return
	}
	s := p.repos[e.Repo]
	if s == nil {
		s = &repoStats{}
		p.repos[e.Repo] = s
	}
	s.add(e)
	switch e.Kind {
	case EventPlanned:
		s.reported = p.now()
		fmt.Fprintf(p.w, "pushing %s to %s: %d blobs (%s), tags %s\n", e.Image, e.Repo, e.Blobs, shared.HumanSize(e.Size), strings.Join(e.Tags, ", "))
	case EventSent:
		if now := p.now(); now.Sub(s.reported) >= p.every {
			s.reported = now
			fmt.Fprintf(p.w, "pushing %s to %s: %s of %s sent\n", s.image, e.Repo, shared.HumanSize(s.sent), shared.HumanSize(s.bytes))
		}
	case EventBlob:
		fmt.Fprintf(p.w, "pushing %s to %s: blob %s (%s) %s [%d/%d]\n", s.image, e.Repo, shortDigest(e.Digest.String()), shared.HumanSize(e.Size), e.How, s.uploaded+s.mounted+s.had, s.blobs)
	case EventDone:
		fmt.Fprintf(p.w, "pushed %s to %s@%s: %s\n", s.image, e.Repo, e.Digest, s)
	}
}

func (p *plain) Close() {}
