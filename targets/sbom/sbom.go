// Package sbom describes the images of an OCI layout: an SPDX 2.3 (or
// CycloneDX 1.6) SBOM of each platform image (from its Go binary's embedded build info), an SBOM
// of the image index listing the platform images, and a SLSA provenance v1
// predicate of each platform image.
//
// Layout attaches each document to the manifest it describes as an OCI 1.1
// referrer (artifactType the document's media type, subject the manifest,
// annotation in-toto.io/predicate-type), listed in the referrers tag
// fallback index "sha256-<hex>" in index.json, exactly as signatures are
// (docs/signing.md), so push carries them and sign turns each into a signed
// in-toto attestation that `cosign verify-attestation` checks. The
// documents are deterministic: the same build gives the same bytes.
package sbom

import (
	"runtime"

	"context"
	"fmt"
	"golang.org/x/sync/errgroup"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// ErrNoLayout is returned when dir holds no OCI layout.
var ErrNoLayout = ocidir.ErrNoLayout

// OCI annotations the documents read.
const (
	versionAnnotation    = "org.opencontainers.image.version"
	revisionAnnotation   = "org.opencontainers.image.revision"
	sourceAnnotation     = "org.opencontainers.image.source"
	baseNameAnnotation   = "org.opencontainers.image.base.name"
	baseDigestAnnotation = "org.opencontainers.image.base.digest"
)

// Written is one document Layout attached.
type Written struct {
	Name          string  // the manifest's ref name, or its index's and its platform
	Subject       v1.Hash // the manifest it describes
	ArtifactType  string
	PredicateType string
	File          string // where it was also written ("" without WithOutDir)
}

// Layout describes every image index (and its platform manifests) and
// every image manifest that the layout dir's index.json names, and
// attaches the documents to them as referrers. A document that is already
// attached is written again with the same bytes, so a rerun changes
// nothing.
func Layout(ctx context.Context, dir string, opts ...Option) ([]Written, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.name == "" {
		o.name = filepath.Base(filepath.Clean(dir))
	}
	if err := ocidir.Exists(dir); err != nil {
		return nil, &shared.NeedStep{Err: err, Fix: "run {index} (or {release}) first"}
	}
	d, err := ocidir.Open(dir)
	if err != nil {
		return nil, err
	}
	unlock, err := d.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ij, err := d.IndexJSON()
	if err != nil {
		return nil, err
	}
	arts, err := o.collect(d, ij)
	o.licenses.save()
	if err != nil {
		return nil, err
	}
	if len(arts) == 0 {
		return nil, &shared.NeedStep{Err: fmt.Errorf("nothing to describe in %s: its index.json names no image", dir), Fix: "run {index} (or {release}) first"}
	}
	return o.write(ctx, d, ij, arts)
}

// collect describes every index index.json names with its platform
// images, then every image manifest not described yet (the platform tags
// name the same manifests as their index: each is described once).
func (o *options) collect(d *ocidir.Dir, ij *v1.IndexManifest) ([]artifact, error) {
	var arts []artifact
	described := map[v1.Hash]bool{}
	for _, e := range ij.Manifests {
		if sigtag.IsEntry(e) || e.ArtifactType != "" || !e.MediaType.IsIndex() || described[e.Digest] {
			continue
		}
		ref := e.Annotations[sigtag.RefName]
		a, err := o.describeIndex(d, e, ref)
		if err != nil {
			return nil, fmt.Errorf("describing %s: %w", ref, err)
		}
		for _, x := range a {
			described[x.subject.Digest] = true
		}
		arts = append(arts, a...)
	}
	for _, e := range ij.Manifests {
		if sigtag.IsEntry(e) || e.ArtifactType != "" || !e.MediaType.IsImage() || described[e.Digest] {
			continue
		}
		described[e.Digest] = true
		ref := e.Annotations[sigtag.RefName]
		img, err := o.describeImage(d, e, nil, ref, nil)
		if err != nil {
			return nil, fmt.Errorf("describing %s: %w", ref, err)
		}
		a, err := o.imageArtifacts(ref, e, img)
		if err != nil {
			return nil, err
		}
		arts = append(arts, a...)
	}
	return arts, nil
}

// describeIndex returns the artifacts of an index and its platform images.
func (o *options) describeIndex(d *ocidir.Dir, e v1.Descriptor, ref string) ([]artifact, error) {
	idx, err := d.ImageIndex(e.Digest)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var arts []artifact
	doc := Index{Name: o.name, Version: im.Annotations[versionAnnotation], Identity: o.identity, Digest: e.Digest}
	if doc.Version == "" {
		doc.Version = ref
	}
	doc.Created, _ = time.Parse(time.RFC3339, im.Annotations[createdAnnotation])
	var children []v1.Descriptor
	for _, c := range im.Manifests {
		if c.MediaType.IsImage() && c.ArtifactType == "" {
			children = append(children, c)
		}
	}
	// Reading each platform's layer is most of the work: one goroutine
	// each; the documents are then made in index order.
	imgs := make([]Image, len(children))
	var g errgroup.Group
	g.SetLimit(runtime.NumCPU())
	for i, c := range children {
		g.Go(func() error {
			img, err := o.describeImage(d, c, c.Platform, doc.Version, im.Annotations)
			if err != nil {
				return fmt.Errorf("%s: %w", childName(ref, c), err)
			}
			imgs[i] = img
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, c := range children {
		img := imgs[i]
		a, err := o.imageArtifacts(childName(ref, c), c, img)
		if err != nil {
			return nil, err
		}
		arts = append(arts, a...)
		doc.Images = append(doc.Images, img)
	}
	if doc.Created.IsZero() && len(doc.Images) > 0 {
		doc.Created = doc.Images[0].Created
	}
	a := artifact{name: ref, subject: e, artifactType: SPDXMediaType, predicateType: SPDXPredicateType, created: formatTime(doc.Created)}
	if o.format == CycloneDX {
		a.artifactType, a.predicateType = CycloneDXMediaType, CycloneDXPredicateType
		a.content, err = EncodeCycloneDX(IndexCycloneDX(doc, o.builder))
	} else {
		a.content, err = Encode(IndexDocument(doc, o.builder))
	}
	if err != nil {
		return nil, err
	}
	return append(arts, a), nil
}

// childName names a platform manifest of the index ref in messages.
func childName(ref string, c v1.Descriptor) string {
	if c.Platform != nil {
		return ref + " " + platform.String(*c.Platform)
	}
	return ref + " " + c.Digest.String()
}

// describeImage reads what the documents say about one image manifest;
// parent are its index's annotations, which supply what the manifest's own
// do not.
func (o *options) describeImage(d *ocidir.Dir, desc v1.Descriptor, p *v1.Platform, version string, parent map[string]string) (Image, error) {
	img, err := d.Image(desc.Digest)
	if err != nil {
		return Image{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return Image{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, err
	}
	ann := func(k string) string {
		if v := m.Annotations[k]; v != "" {
			return v
		}
		return parent[k]
	}
	out := Image{
		Name: o.name, Version: version, Identity: o.identity, Digest: desc.Digest,
		Created:  cf.Created.UTC(),
		BaseName: ann(baseNameAnnotation), BaseDigest: ann(baseDigestAnnotation),
		Source: ann(sourceAnnotation), Revision: ann(revisionAnnotation),
		Sums: o.sums, Config: o.config,
	}
	if t, err := time.Parse(time.RFC3339, ann(createdAnnotation)); err == nil {
		out.Created = t.UTC()
	}
	if p != nil {
		out.Platform = *p
	} else if cp := cf.Platform(); cp != nil {
		out.Platform = *cp
	}
	if out.Binary, err = o.findBinary(img); err != nil {
		return Image{}, fmt.Errorf("finding the Go binary: %w", err)
	}
	if out.Files, err = o.findFiles(img); err != nil {
		return Image{}, fmt.Errorf("listing the image's files: %w", err)
	}
	out.Licenses = o.detectLicenses(out.Binary)
	return out, nil
}

// detectLicenses returns the licenses of the binary's modules found in
// their sources, by module path.
func (o *options) detectLicenses(b Binary) map[string]string {
	if o.licenses == nil || b.Info == nil {
		return nil
	}
	out := map[string]string{}
	if l := o.licenses.detectMain(); l != "" {
		out[b.Info.Main.Path] = l
	}
	for _, m := range b.Info.Deps {
		eff := m
		if m.Replace != nil {
			eff = m.Replace
		}
		if l := o.licenses.detect(eff.Path, eff.Version); l != "" {
			out[m.Path] = l
		}
	}
	return out
}

// imageArtifacts are the SBOM and, when enabled, the provenance of img.
func (o *options) imageArtifacts(name string, desc v1.Descriptor, img Image) ([]artifact, error) {
	subj := v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest}
	created := formatTime(img.Created)
	a := artifact{name: name, subject: subj, artifactType: SPDXMediaType, predicateType: SPDXPredicateType, created: created}
	var err error
	if o.format == CycloneDX {
		a.artifactType, a.predicateType = CycloneDXMediaType, CycloneDXPredicateType
		a.content, err = EncodeCycloneDX(ImageCycloneDX(img, o.builder))
	} else {
		a.content, err = Encode(ImageDocument(img, o.builder))
	}
	if err != nil {
		return nil, err
	}
	arts := []artifact{a}
	if o.provenance {
		prov, err := EncodeProvenance(ImageProvenance(img, o.builder))
		if err != nil {
			return nil, err
		}
		arts = append(arts, artifact{name: name, subject: subj, artifactType: ProvenanceMediaType, predicateType: ProvenancePredicateType, created: created, content: prov})
	}
	return arts, nil
}

// write attaches arts in the layout and, with WithOutDir, as files.
func (o *options) write(ctx context.Context, d *ocidir.Dir, ij *v1.IndexManifest, arts []artifact) ([]Written, error) {
	added := map[v1.Hash][]v1.Descriptor{}
	var out []Written
	tw := tabwriter.NewWriter(o.log, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	for _, a := range arts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		desc, err := writeReferrer(d, a)
		if err != nil {
			return nil, fmt.Errorf("attaching the %s of %s: %w", a.artifactType, a.name, err)
		}
		added[a.subject.Digest] = append(added[a.subject.Digest], desc)
		w := Written{Name: a.name, Subject: a.subject.Digest, ArtifactType: a.artifactType, PredicateType: a.predicateType}
		if o.outDir != "" {
			w.File = filepath.Join(o.outDir, fileName(o.name, a.name, a.artifactType))
			if err := atomicfile.Write(w.File, a.content); err != nil {
				return nil, err
			}
		}
		out = append(out, w)
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.name, kindName(a.artifactType), shared.RelPath(w.File))
	}
	entries, err := attach(d, ij, added)
	if err != nil {
		return nil, err
	}
	if err := d.WriteIndexJSON(entries); err != nil {
		return nil, err
	}
	return out, d.GC()
}

// fileName is a document's file in dist/sbom: <image>[-<platform>].spdx.json
// or .provenance.json.
func fileName(image, name, artifactType string) string {
	base := image
	if _, plat, ok := strings.Cut(name, " "); ok {
		base += "-" + strings.NewReplacer("/", "-", ":", "-").Replace(plat)
	}
	return base + "." + kindName(artifactType) + ".json"
}

func kindName(artifactType string) string {
	switch artifactType {
	case ProvenanceMediaType:
		return "provenance"
	case CycloneDXMediaType:
		return "cdx"
	}
	return "spdx"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
