// Package sign signs the images of an OCI layout the way cosign does, in
// both of cosign's formats, and verifies such signatures in a layout or a
// registry, offline (no transparency log, no certificate authority).
//
// For every image index and image manifest the layout's index.json names
// (and the manifests those indexes list), Layout writes into the layout:
//
//   - a sigstore bundle v0.3 (DSSE envelope over an in-toto statement whose
//     subject is the manifest digest) in an OCI 1.1 referrer manifest whose
//     subject is the manifest, listed in the referrers tag fallback index
//     named "sha256-<hex>" in index.json;
//   - cosign's legacy signature manifest, named "sha256-<hex>.sig", one
//     simple-signing payload layer per signature.
//
// So a signed layout carries its signatures when it is copied, and a push
// of every index.json entry (ref names are tags) publishes them where cosign
// looks. docs/signing.md describes the representation.
package sign

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// ErrNoLayout is returned when the directory to sign or verify holds no
// OCI layout.
var ErrNoLayout = ocidir.ErrNoLayout

// Action is what Layout did for one format of one manifest.
type Action string

const (
	Added Action = "signed"              // a new signature was written
	Kept  Action = "already signed"      // a valid signature by this key (keyless: identity) was there
	Off   Action = "format not selected" // the format is not selected
)

// Signed is what Layout did for one manifest.
type Signed struct {
	Name         string // its ref name, or its index's name and its platform
	Digest       v1.Hash
	Bundle       Action
	Legacy       Action
	Attestations Action // of the SBOMs and provenance attached to it; "" when none are
}

// Layout signs every image index and image manifest of the OCI layout dir
// with s, in the formats selected (both by default), and writes the
// signatures into the layout. A manifest already signed by this key in a
// format keeps that signature (re-signing adds nothing); signatures by
// other keys are kept beside the new ones.
//
// Everything is signed before anything is written, under the layout's
// lock, so a failure (wrong key, unreachable KMS) leaves the layout as it
// was. Apart from the signature bytes, the output is deterministic.
func Layout(ctx context.Context, dir string, s Signer, opts ...Option) ([]Signed, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.identity == "" {
		o.identity = filepath.Base(filepath.Clean(dir))
	}
	d, err := openLayout(dir)
	if err != nil {
		return nil, err
	}
	unlock, err := d.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := newLayoutStore(d)
	if err != nil {
		return nil, err
	}
	subjects := expand(ctx, st, layoutRoots(st.index))
	if len(subjects) == 0 {
		return nil, &shared.NeedStep{Err: fmt.Errorf("nothing to sign in %s: its index.json names no image", dir), Fix: "run {index} (or {release}) first"}
	}
	for _, subj := range subjects {
		if subj.Err != nil {
			return nil, fmt.Errorf("%s: %w", subj.Name, subj.Err)
		}
	}
	sg, t, err := newSigning(ctx, s)
	if err != nil {
		return nil, err
	}

	var plans []*plan
	var report []Signed
	for _, subj := range subjects {
		p, err := planSubject(ctx, st, sg, t, subj, o)
		if err != nil {
			return nil, fmt.Errorf("signing %s (%s): %w", subj.Name, subj.Desc.Digest, err)
		}
		plans = append(plans, p)
		report = append(report, p.signed)
	}
	entries, err := writePlans(ctx, d, st.index, subjects, plans)
	if err != nil {
		return nil, err
	}
	if err := d.WriteIndexJSON(entries); err != nil {
		return nil, err
	}
	if err := d.GC(); err != nil {
		return nil, err
	}
	tw := tabwriter.NewWriter(o.log, 0, 4, 2, ' ', 0)
	for _, r := range report {
		fmt.Fprintf(tw, "  %s\t%s\tbundle: %s, legacy: %s", r.Name, short(r.Digest), r.Bundle, r.Legacy)
		if r.Attestations != "" {
			fmt.Fprintf(tw, ", attestations: %s", r.Attestations)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	return report, nil
}

// plan is what signing one manifest writes: nil fields keep what is there.
type plan struct {
	subj   subject
	signed Signed
	legacy v1.Image // the new legacy signature image
	bundle []byte   // the new bundle
	refs   []v1.Descriptor

	attBundles []attBundle // new attestation bundles
	attImage   v1.Image    // the new legacy attestation image
}

func planSubject(ctx context.Context, st store, sg *signing, t trust, subj subject, o *options) (*plan, error) {
	h := subj.Desc.Digest
	p := &plan{subj: subj, signed: Signed{Name: subj.Name, Digest: h, Bundle: Off, Legacy: Off}}
	refs, err := st.Referrers(ctx, h)
	if err != nil {
		return nil, err
	}
	p.refs = refs
	if o.formats&Legacy != 0 {
		layers, _, err := readLegacy(ctx, st, h)
		if err != nil {
			return nil, err
		}
		p.signed.Legacy = Kept
		if !slices.ContainsFunc(layers, func(l legacyLayer) bool { return checkLegacy(l, h, t) == nil }) {
			l, err := newLegacyLayer(ctx, sg, o.identity, h)
			if err != nil {
				return nil, err
			}
			if err := checkLegacy(l, h, t); err != nil {
				return nil, fmt.Errorf("the key's signature does not verify with its own public key (key and algorithm do not match?): %w", err)
			}
			if len(layers) >= maxLegacyLayers {
				return nil, fmt.Errorf("the legacy signature manifest already holds %d signatures", len(layers))
			}
			if p.legacy, err = legacyImage(append(layers, l)); err != nil {
				return nil, err
			}
			p.signed.Legacy = Added
		}
	}
	if o.formats&Bundle != 0 {
		p.signed.Bundle = Kept
		if !slices.ContainsFunc(refs, func(d v1.Descriptor) bool {
			raw, err := readBundle(ctx, st, d)
			return err == nil && checkBundle(raw, h, t) == nil
		}) {
			b, err := newBundle(ctx, sg, h)
			if err != nil {
				return nil, err
			}
			if err := checkBundle(b, h, t); err != nil {
				return nil, fmt.Errorf("the key's bundle does not verify with its own public key (key and algorithm do not match?): %w", err)
			}
			p.bundle = b
			p.signed.Bundle = Added
		}
	}
	if err := planAttestations(ctx, st, sg, t, p, o); err != nil {
		return nil, fmt.Errorf("attesting: %w", err)
	}
	return p, nil
}

// writePlans writes the new signature artifacts and returns the new
// index.json: its images as they were, then every signature entry, sorted
// by name.
func writePlans(ctx context.Context, d *ocidir.Dir, ij *v1.IndexManifest, subjects []subject, plans []*plan) ([]v1.Descriptor, error) {
	var images, sigs []v1.Descriptor
	for _, e := range ij.Manifests {
		if !sigtag.IsEntry(e) {
			images = append(images, e)
		}
	}
	all := slices.Clone(images)
	for _, s := range subjects {
		all = append(all, s.Desc)
	}
	byName := map[string]v1.Descriptor{}
	for _, e := range sigtag.Keep(ij.Manifests, all) {
		byName[e.Annotations[sigtag.RefName]] = e
	}
	for _, p := range plans {
		h := p.subj.Desc.Digest
		if p.legacy != nil {
			desc, err := d.WriteImage(ctx, p.legacy)
			if err != nil {
				return nil, fmt.Errorf("writing the legacy signature of %s: %w", p.subj.Name, err)
			}
			byName[sigtag.Signature(h)] = entry(desc.MediaType, desc.Size, desc.Digest, sigtag.Signature(h))
		}
		if p.attImage != nil {
			desc, err := d.WriteImage(ctx, p.attImage)
			if err != nil {
				return nil, fmt.Errorf("writing the legacy attestations of %s: %w", p.subj.Name, err)
			}
			byName[sigtag.AttestationTag(h)] = entry(desc.MediaType, desc.Size, desc.Digest, sigtag.AttestationTag(h))
		}
		if p.bundle != nil || len(p.attBundles) > 0 {
			desc, err := writeBundle(d, p)
			if err != nil {
				return nil, fmt.Errorf("writing the bundle of %s: %w", p.subj.Name, err)
			}
			byName[sigtag.Fallback(h)] = desc
		}
	}
	for _, e := range byName {
		sigs = append(sigs, e)
	}
	slices.SortFunc(sigs, func(a, b v1.Descriptor) int {
		return strings.Compare(a.Annotations[sigtag.RefName], b.Annotations[sigtag.RefName])
	})
	return append(images, sigs...), nil
}

// writeBundle writes a plan's new bundles (signature and attestations),
// their referrer manifests and the fallback index listing them beside the
// referrers already there.
func writeBundle(d *ocidir.Dir, p *plan) (v1.Descriptor, error) {
	if _, _, err := d.WriteBlob(strings.NewReader(EmptyJSON), emptyDescriptor.Digest); err != nil {
		return v1.Descriptor{}, err
	}
	bundles := p.attBundles
	if p.bundle != nil {
		bundles = append([]attBundle{{raw: p.bundle, predicateType: SignPredicateType}}, bundles...)
	}
	refs := slices.Clone(p.refs)
	for _, b := range bundles {
		bh, bsize, err := d.WriteBlob(strings.NewReader(string(b.raw)), v1.Hash{})
		if err != nil {
			return v1.Descriptor{}, err
		}
		rm, err := referrerManifest(p.subj, v1.Descriptor{MediaType: BundleMediaType, Size: bsize, Digest: bh}, b.predicateType)
		if err != nil {
			return v1.Descriptor{}, err
		}
		if _, _, err := d.WriteBlob(strings.NewReader(string(rm)), v1.Hash{}); err != nil {
			return v1.Descriptor{}, err
		}
		rd, err := referrerDescriptor(rm)
		if err != nil {
			return v1.Descriptor{}, err
		}
		refs = append(refs, rd)
	}
	idx, err := fallbackIndex(refs)
	if err != nil {
		return v1.Descriptor{}, err
	}
	ih, isize, err := d.WriteBlob(strings.NewReader(string(idx)), v1.Hash{})
	if err != nil {
		return v1.Descriptor{}, err
	}
	return entry(types.OCIImageIndex, isize, ih, sigtag.Fallback(p.subj.Desc.Digest)), nil
}

func entry(mt types.MediaType, size int64, h v1.Hash, ref string) v1.Descriptor {
	return v1.Descriptor{MediaType: mt, Size: size, Digest: h, Annotations: map[string]string{sigtag.RefName: ref}}
}

// short abbreviates a digest for log lines.
func short(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.String()
	}
	return h.Algorithm + ":" + h.Hex[:12]
}

// signing is what Layout signs with: the signer, its sigstore-go keypair,
// and, for keyless signing, the signer as Certified.
type signing struct {
	s    Signer
	kp   *keypair
	cert Certified
}

// newSigning prepares s and the trust that decides which signatures
// already there are s's own: its key's, or, keyless, its identity's (the
// certificate is fetched here, once per run).
func newSigning(ctx context.Context, s Signer) (*signing, trust, error) {
	kp, err := newKeypair(s)
	if err != nil {
		return nil, nil, err
	}
	sg := &signing{s: s, kp: kp}
	if c, ok := s.(Certified); ok {
		sg.cert = c
		leaf, _, err := c.Certificate(ctx)
		if err != nil {
			return nil, nil, err
		}
		t, err := newSignerTrust(leaf)
		if err != nil {
			return nil, nil, err
		}
		return sg, t, nil
	}
	verifiers, err := verifiersFor(s.PublicKey())
	if err != nil {
		return nil, nil, err
	}
	return sg, keyTrust(verifiers), nil
}
