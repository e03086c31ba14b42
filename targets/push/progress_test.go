package push

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// script is what a push of one image with three blobs reports.
func script(p Progress) {
	repo := "ghcr.io/acme/app"
	p.Event(Event{Kind: EventPlanned, Image: "app", Repo: repo, Blobs: 3, Size: 3000, Tags: []string{"v1.0.0", "latest"}})
	p.Event(Event{Kind: EventSent, Repo: repo, Size: 1000})
	p.Event(Event{Kind: EventBlob, Repo: repo, Size: 1000, How: BlobUploaded})
	p.Event(Event{Kind: EventBlob, Repo: repo, Size: 1000, How: BlobMounted})
	p.Event(Event{Kind: EventBlob, Repo: repo, Size: 1000, How: BlobExisted})
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
		"retrying: PUT /v2/acme/app/manifests/latest: 503 Service Unavailable\n",
		"retrying more (further retries are counted, not logged)\n",
		"pushed app to ghcr.io/acme/app@sha256:aaaa",
		"3/3 blobs: 1 uploaded (1.0 kB sent), 1 mounted, 1 already there\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plain output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n > 6 {
		t.Errorf("plain output has %d lines, want a few:\n%s", n, got)
	}
}

func TestLiveProgress(t *testing.T) {
	var buf syncBuffer
	script(Live(&buf))
	got := buf.String()
	for _, want := range []string{"\x1b[K", "app → ghcr.io/acme/app [======", "1.0 kB/3.0 kB", "3/3 blobs", "done sha256:aaaa", "5 retries"} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%q", want, got)
		}
	}
}

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
