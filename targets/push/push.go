// Package push publishes what the layout and index steps wrote: the
// multi-arch image index of each OCI layout, to one or more registries. It
// never builds, so what is pushed is exactly what was verified, and one
// build can go to several registries.
//
// A push runs in order: blobs, platform manifests, the index (each by
// digest, HEAD first, so what is there is not sent again), a read-back of
// the index and its children, the signatures the sign step put in the
// layout (signatures.go), and only then the tags. A push that fails
// before the last step moves no tag; running it again resumes.
//
// Retries are Gantry's own, over go-containerregistry's remote package: a
// transport retries each replayable request on connection errors, 408, 429
// and 5xx with exponential backoff and jitter, and each blob upload, when it
// breaks, starts over from the HEAD; all within one retry budget.
package push

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/gantrybuild/gantry/targets/internal/shared"
)

// Image is one image to publish: the index in an OCI layout, to each of
// Repos.
type Image struct {
	Name   string // for messages and results; default: the layout's directory name
	Layout string // OCI layout written by the layout and index steps
	Repos  []name.Repository
}

// upload is one image going to one repository.
type upload struct {
	src      *source
	repo     name.Repository
	key      string // registry/repository, as events name it
	tags     []tagRef
	existing map[string]v1.Hash // tag → digest it names now
	there    map[v1.Hash]bool   // manifests the registry has
}

// Layouts publishes images and returns what was pushed. On error, no tag
// has moved unless the error says so.
func Layouts(ctx context.Context, images []Image, opts ...Option) (res *Result, err error) {
	start := time.Now()
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	defer o.progress.Close()
	defer func() {
		if err != nil {
			err = userError(err, o.password)
		}
	}()
	if len(images) == 0 {
		return nil, errors.New("nothing to push: no image configured")
	}

	var uploads []*upload
	for _, img := range images {
		if img.Name == "" {
			img.Name = filepath.Base(img.Layout)
		}
		if len(img.Repos) == 0 {
			return nil, fmt.Errorf("image %s has no destination repository: set GANTRY_REPO, e.g. ghcr.io/org/%s", img.Name, img.Name)
		}
		src, err := readSource(ctx, img, o.jobs)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Name, err)
		}
		defer src.unlock()
		if err := o.checkRevision(src); err != nil {
			return nil, err
		}
		for _, repo := range img.Repos {
			repo = o.normalize(repo)
			uploads = append(uploads, &upload{src: src, repo: repo, key: repo.String()})
		}
	}

	s := newSession(o, uploads)
	if err := forEach(ctx, o.jobs, uploads, func(ctx context.Context, t *upload) error { return s.plan(ctx, t, o) }); err != nil {
		return nil, s.noTagMoved(err)
	}
	for _, t := range uploads {
		o.progress.Event(Event{Kind: EventPlanned, Image: t.src.img.Name, Repo: t.key,
			Blobs: len(t.src.allBlobs()) + len(t.src.signatureBlobs()), Size: t.src.blobBytes() + t.src.signatureBytes(), Tags: t.indexTags()})
	}
	stats := &Stats{}
	if err := s.pushContent(ctx, uploads, o, stats); err != nil {
		return nil, s.noTagMoved(err)
	}
	if err := forEach(ctx, o.jobs, uploads, s.verify); err != nil {
		return nil, s.noTagMoved(err)
	}
	if err := s.pushSignatures(ctx, uploads, o, stats); err != nil {
		return nil, s.noTagMoved(err)
	}
	if err := s.moveTags(ctx, uploads, o, stats); err != nil {
		return nil, err
	}

	res = &Result{}
	for _, t := range uploads {
		o.progress.Event(Event{Kind: EventDone, Image: t.src.img.Name, Repo: t.key, Digest: t.src.indexDesc.Digest})
		res.Images = append(res.Images, t.result())
	}
	stats.Requests = s.obs.requests.Load()
	stats.BytesSent = s.obs.sent.Load()
	stats.Retries = s.policy.retries.Load()
	stats.Duration = time.Since(start)
	res.Stats = *stats
	return res, nil
}

// checkRevision refuses a layout built from another commit than the work
// tree's HEAD (WithRevision), unless WithStale.
func (o *options) checkRevision(src *source) error {
	if o.revision == "" || o.stale || src.revision == o.revision {
		return nil
	}
	built := "no commit (it was built outside git)"
	if src.revision != "" {
		built = "commit " + short(src.revision)
	}
	return &shared.NeedStep{
		Err: fmt.Errorf("%s was built from %s, but the work tree is at %s: push publishes the layout as it is", src.img.Layout, built, short(o.revision)),
		Fix: "run {release} (or {layout}, then {index}) to build " + short(o.revision) + " first, or set GANTRY_PUSH_STALE=1 to push the older build on purpose; nothing was pushed",
	}
}

// short abbreviates a commit hash as Go pseudo-versions do.
func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// normalize marks repositories of registries listed as insecure, so ggcr
// falls back to plain HTTP for them.
func (o *options) normalize(repo name.Repository) name.Repository {
	if !o.insecure[repo.RegistryStr()] {
		return repo
	}
	r, err := name.NewRepository(repo.String(), name.Insecure)
	if err != nil {
		return repo
	}
	return r
}

// forEach runs f for every item, at most jobs at once, and returns the
// first error (the others are cancelled).
func forEach[T any](ctx context.Context, jobs int, items []T, f func(context.Context, T) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, it := range items {
		g.Go(func() error { return f(ctx, it) })
	}
	return g.Wait()
}

// errNoTagMoved marks errors from before the tags step when the push put
// no tag at all.
var errNoTagMoved = errors.New("no tag was moved")

// beforeTagsError is an error from before the tags step: no image tag
// moved. Signatures go before the image tags, and their tags (legacy
// sha256-<hex>.sig/.att, the referrers fallback sha256-<hex>) may have
// been put: written names each, so the message stays true.
type beforeTagsError struct {
	err     error
	written []string
}

func (e *beforeTagsError) Error() string { return e.err.Error() + "; " + e.note() }
func (e *beforeTagsError) Unwrap() error { return e.err }

// Is makes errors.Is(err, errNoTagMoved) true when no tag was put at all.
func (e *beforeTagsError) Is(target error) bool {
	return target == errNoTagMoved && len(e.written) == 0
}

// note is what the error says about tags.
func (e *beforeTagsError) note() string {
	if len(e.written) == 0 {
		return errNoTagMoved.Error()
	}
	return "no image tag was moved, but these signature tags were written: " + strings.Join(e.written, ", ") + " (they name content by digest; run push again to finish)"
}

// noTagMoved marks err as coming from before the tags step, naming the
// tags written regardless.
func noTagMoved(err error, written ...string) error {
	return &beforeTagsError{err: err, written: written}
}

// noTagMoved marks err as coming from before the tags step, with the tags
// this session put.
func (s *session) noTagMoved(err error) error { return noTagMoved(err, s.obs.tagsPut()...) }

func (t *upload) result() Pushed {
	src := t.src
	p := Pushed{
		Name: src.img.Name, Repo: t.repo, Version: src.version, Revision: src.revision,
		Index: stripDescriptor(src.indexDesc), Tags: t.indexTags(), Size: src.size(),
	}
	for _, pl := range src.platforms {
		pp := PushedPlatform{Platform: *pl.desc.Platform, Manifest: stripDescriptor(pl.desc), Size: pl.desc.Size}
		for _, b := range pl.blobs {
			pp.Size += b.desc.Size
		}
		for _, tr := range t.tags {
			if tr.desc.Digest == pl.desc.Digest {
				pp.Tags = append(pp.Tags, tr.tag)
			}
		}
		p.Platforms = append(p.Platforms, pp)
	}
	return p
}

// stripDescriptor keeps what names a manifest and its platform.
func stripDescriptor(d v1.Descriptor) v1.Descriptor {
	return v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest, Platform: d.Platform}
}
