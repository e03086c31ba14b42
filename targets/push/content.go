package push

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/internal/shared"
)

// blobJob is one blob for every repository of one registry that needs it:
// the first gets it uploaded (or mounted from the base image's repository),
// the others mount it from the first.
type blobJob struct {
	b     blob
	dests []blobDest
}

type blobDest struct {
	t    *upload
	base name.Reference
}

func blobJobs(uploads []*upload) []*blobJob {
	byKey := map[string]*blobJob{}
	var jobs []*blobJob
	for _, t := range uploads {
		seen := map[v1.Hash]bool{}
		for _, p := range t.src.platforms {
			if t.there[p.desc.Digest] {
				continue
			}
			for _, b := range p.blobs {
				if seen[b.desc.Digest] {
					continue
				}
				seen[b.desc.Digest] = true
				key := t.repo.RegistryStr() + "@" + b.desc.Digest.String()
				j := byKey[key]
				if j == nil {
					j = &blobJob{b: b}
					byKey[key] = j
					jobs = append(jobs, j)
				}
				j.dests = append(j.dests, blobDest{t: t, base: b.base})
			}
		}
	}
	// Largest first, so the longest uploads start earliest.
	sort.SliceStable(jobs, func(i, k int) bool { return jobs[i].b.desc.Size > jobs[k].b.desc.Size })
	return jobs
}

// pushContent uploads every blob, then the platform manifests, then the
// indexes, each by digest, skipping what the registry has: a manifest it
// has, it has every blob of (it checks them when the manifest is put).
func (s *session) pushContent(ctx context.Context, uploads []*upload, o *options, st *Stats) error {
	if err := forEach(ctx, o.jobs, uploads, func(ctx context.Context, t *upload) error { return s.findThere(ctx, t, o) }); err != nil {
		return err
	}
	jobs := blobJobs(uploads)
	for _, t := range uploads {
		s.countThere(t, jobs, o, st)
	}
	err := forEach(ctx, o.jobs, jobs, func(ctx context.Context, j *blobJob) error {
		return s.uploadJob(ctx, j, o, st)
	})
	if err != nil {
		return err
	}
	type manifestJob struct {
		t    *upload
		desc v1.Descriptor
		m    remote.Taggable
	}
	var children, indexes []manifestJob
	for _, t := range uploads {
		for _, p := range t.src.platforms {
			children = append(children, manifestJob{t, p.desc, p.image})
		}
		indexes = append(indexes, manifestJob{t, t.src.indexDesc, t.src.index})
	}
	for _, jobs := range [][]manifestJob{children, indexes} {
		err := forEach(ctx, o.jobs, jobs, func(ctx context.Context, j manifestJob) error {
			return s.ensureManifest(ctx, j.t, j.desc, j.m, o, st)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// findThere asks which of an upload's manifests the registry has: the
// index (then all of them), else each platform manifest.
func (s *session) findThere(ctx context.Context, t *upload, o *options) error {
	t.there = map[v1.Hash]bool{}
	descs := []v1.Descriptor{t.src.indexDesc}
	for _, p := range t.src.platforms {
		descs = append(descs, p.desc)
	}
	var mu sync.Mutex
	check := func(ctx context.Context, d v1.Descriptor) error {
		got, err := s.head(ctx, t.repo.Digest(d.Digest.String()))
		if err != nil {
			return fmt.Errorf("pushing %s to %s: checking manifest %s: %w", t.src.img.Name, t.repo, d.Digest, err)
		}
		if got != nil && got.Digest == d.Digest {
			mu.Lock()
			t.there[d.Digest] = true
			mu.Unlock()
		}
		return nil
	}
	if err := check(ctx, descs[0]); err != nil {
		return err
	}
	if t.there[descs[0].Digest] {
		for _, d := range descs[1:] {
			t.there[d.Digest] = true
		}
		return nil
	}
	return forEach(ctx, o.jobs, descs[1:], check)
}

// countThere reports the blobs of t that no job uploads: those of the
// manifests the registry has.
func (s *session) countThere(t *upload, jobs []*blobJob, o *options, st *Stats) {
	queued := map[v1.Hash]bool{}
	for _, j := range jobs {
		for _, d := range j.dests {
			if d.t == t {
				queued[j.b.desc.Digest] = true
			}
		}
	}
	for _, b := range t.src.allBlobs() {
		if queued[b.desc.Digest] {
			continue
		}
		s.count(st, func(st *Stats) { st.Blobs++; st.Existed++ })
		o.progress.Event(Event{Kind: EventBlob, Image: t.src.img.Name, Repo: t.key, Digest: b.desc.Digest, Size: b.desc.Size, How: BlobExisted})
	}
}

func (s *session) uploadJob(ctx context.Context, j *blobJob, o *options, st *Stats) error {
	d := j.b.desc
	var from name.Repository
	for i, dest := range j.dests {
		repo := dest.t.repo
		var l v1.Layer = j.b.layer
		switch {
		case i > 0 && from.String() != repo.String():
			l = &remote.MountableLayer{Layer: l, Reference: from.Digest(d.Digest.String())}
		case dest.base != nil && dest.base.Context().RegistryStr() == repo.RegistryStr() &&
			dest.base.Context().RepositoryStr() != repo.RepositoryStr():
			l = &remote.MountableLayer{Layer: l, Reference: dest.base}
		}
		if err := s.upload(ctx, repo, l); err != nil {
			return fmt.Errorf("pushing %s to %s: uploading blob %s (%s, %s): %w", dest.t.src.img.Name, repo, d.Digest, d.MediaType, shared.HumanSize(d.Size), err)
		}
		how := s.obs.outcome(dest.t.key, d.Digest)
		s.count(st, func(st *Stats) {
			st.Blobs++
			switch how {
			case BlobUploaded:
				st.Uploaded++
			case BlobMounted:
				st.Mounted++
			default:
				st.Existed++
			}
		})
		o.progress.Event(Event{Kind: EventBlob, Image: dest.t.src.img.Name, Repo: dest.t.key, Digest: d.Digest, Size: d.Size, How: how})
		from = repo
	}
	return nil
}

// ensureManifest puts manifest m under its digest unless it is there.
func (s *session) ensureManifest(ctx context.Context, t *upload, desc v1.Descriptor, m remote.Taggable, o *options, st *Stats) error {
	ref := t.repo.Digest(desc.Digest.String())
	if t.there[desc.Digest] {
		s.count(st, func(st *Stats) { st.ManifestsExisted++ })
	} else {
		if err := s.put(ctx, ref, m); err != nil {
			return fmt.Errorf("pushing %s to %s: putting manifest %s: %w", t.src.img.Name, t.repo, desc.Digest, err)
		}
		s.count(st, func(st *Stats) { st.Manifests++ })
	}
	o.progress.Event(Event{Kind: EventManifest, Image: t.src.img.Name, Repo: t.key, Digest: desc.Digest, Size: desc.Size})
	return nil
}

// verify reads the index back by digest and checks that every child
// resolves, before any tag names it.
func (s *session) verify(ctx context.Context, t *upload) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("pushing %s to %s: reading the index back: %s", t.src.img.Name, t.repo, fmt.Sprintf(format, args...))
	}
	want := t.src.indexDesc.Digest
	d, err := s.get(ctx, t.repo.Digest(want.String()))
	if err != nil {
		return fail("%v", err)
	}
	if d.Digest != want {
		return fail("the registry serves %s for %s", d.Digest, want)
	}
	if h, _, err := v1.SHA256(bytes.NewReader(d.Manifest)); err != nil || h != want {
		return fail("the manifest it serves hashes to %s, not %s", h, want)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(d.Manifest))
	if err != nil {
		return fail("%v", err)
	}
	if len(im.Manifests) != len(t.src.platforms) {
		return fail("it lists %d manifests, the layout %d", len(im.Manifests), len(t.src.platforms))
	}
	return forEach(ctx, 4, im.Manifests, func(ctx context.Context, c v1.Descriptor) error {
		got, err := s.head(ctx, t.repo.Digest(c.Digest.String()))
		switch {
		case err != nil:
			return fail("child %s: %v", c.Digest, err)
		case got == nil:
			return fail("child %s does not resolve", c.Digest)
		case got.Digest != c.Digest || got.Size != c.Size:
			return fail("child %s resolves to %s (%d bytes, want %d)", c.Digest, got.Digest, got.Size, c.Size)
		}
		return nil
	})
}

// moveTags points every tag at its manifest, skipping those already right.
func (s *session) moveTags(ctx context.Context, uploads []*upload, o *options, st *Stats) error {
	type tagJob struct {
		t  *upload
		tr tagRef
	}
	var jobs []tagJob
	for _, t := range uploads {
		for _, tr := range t.tags {
			jobs = append(jobs, tagJob{t, tr})
		}
	}
	return forEach(ctx, o.jobs, jobs, func(ctx context.Context, j tagJob) error {
		if j.t.existing[j.tr.tag] == j.tr.desc.Digest {
			s.count(st, func(st *Stats) { st.TagsKept++ })
			return nil
		}
		if err := s.put(ctx, j.t.repo.Tag(j.tr.tag), j.tr.manifest); err != nil {
			return fmt.Errorf("pushing %s to %s: tagging %s: %w (the content is complete at %s; run push again to finish tagging)",
				j.t.src.img.Name, j.t.repo, j.tr.tag, err, j.t.repo.Digest(j.t.src.indexDesc.Digest.String()))
		}
		s.count(st, func(st *Stats) { st.TagsMoved++ })
		o.progress.Event(Event{Kind: EventTagged, Image: j.t.src.img.Name, Repo: j.t.key, Tag: j.tr.tag, Digest: j.tr.desc.Digest})
		return nil
	})
}

// count updates the stats under the session's lock.
func (s *session) count(st *Stats, f func(*Stats)) {
	s.mu.Lock()
	f(st)
	s.mu.Unlock()
}
