package sign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrUnverified is wrapped by the error of a verification that found a
// manifest unsigned or a signature invalid.
var ErrUnverified = errors.New("signature verification failed")

// Check is the verdict on one manifest.
type Check struct {
	Name   string // its ref name, or its index's name and its platform
	Digest v1.Hash
	Bundle Verdict
	Legacy Verdict
	// Attestations: every SBOM or provenance attached to the manifest is
	// attested by the key in each selected format (not required when none
	// is attached).
	Attestations Verdict
	Err          error // the manifest itself could not be read (corrupt, missing)
}

// Verdict is what one format holds for one manifest.
type Verdict struct {
	Required bool     // the format is selected
	Valid    int      // signatures by the key that verify
	Problems []string // signatures that do not verify, and why
}

// OK reports whether the format is not required or holds a valid signature.
func (v Verdict) OK() bool { return !v.Required || v.Valid > 0 }

func (v Verdict) String() string {
	switch {
	case !v.Required:
		return "not checked"
	case v.Valid > 0:
		return "ok"
	case len(v.Problems) == 0:
		return "unsigned"
	}
	return "invalid: " + strings.Join(v.Problems, "; ")
}

// OK reports whether the manifest passed.
func (c Check) OK() bool {
	return c.Err == nil && c.Bundle.OK() && c.Legacy.OK() && c.Attestations.OK()
}

// Report is the outcome of verifying one image.
type Report struct {
	Source string // the layout or repository
	Checks []Check
}

// Err is nil when every manifest passed, else one line per manifest that
// did not, naming it and what is wrong, wrapping ErrUnverified.
func (r *Report) Err() error {
	var errs []error
	for _, c := range r.Checks {
		if c.OK() {
			continue
		}
		var why []string
		if c.Err != nil {
			why = append(why, c.Err.Error())
		} else {
			if !c.Bundle.OK() {
				why = append(why, "bundle "+c.Bundle.String())
			}
			if !c.Legacy.OK() {
				why = append(why, "legacy signature "+c.Legacy.String())
			}
			if !c.Attestations.OK() {
				why = append(why, "attestations "+c.Attestations.String())
			}
		}
		errs = append(errs, fmt.Errorf("%s (%s): %s", c.Name, c.Digest, strings.Join(why, "; ")))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w in %s:\n%w", ErrUnverified, r.Source, errors.Join(errs...))
}

// Print writes one line per manifest.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		status := "ok"
		if !c.OK() {
			status = "FAILED"
		}
		if c.Err != nil {
			fmt.Fprintf(tw, "  %s\t%s\t%s: %v\n", c.Name, short(c.Digest), status, c.Err)
			continue
		}
		att := ""
		if c.Attestations.Required {
			att = " attestations: " + c.Attestations.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s (bundle: %s, legacy: %s)%s\n", c.Name, short(c.Digest), status, c.Bundle, c.Legacy, att)
	}
	tw.Flush()
}

// VerifyLayout checks, offline, that every image index and image manifest
// of the OCI layout dir holds, in each selected format, a signature by pub
// over its digest. The error is nil when all pass, else Report.Err.
func VerifyLayout(ctx context.Context, dir string, pub crypto.PublicKey, opts ...Option) (*Report, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	d, err := openLayout(dir)
	if err != nil {
		return nil, err
	}
	st, err := newLayoutStore(d)
	if err != nil {
		return nil, err
	}
	roots := layoutRoots(st.index)
	if len(roots) == 0 {
		return nil, fmt.Errorf("nothing to verify in %s: its index.json names no image", dir)
	}
	return verifyAll(ctx, st, roots, pub, o)
}

// VerifyRemote checks, offline (no transparency log), that the image ref
// (a tag or digest; an index and each of its manifests) holds, in each
// selected format, a signature by pub, where cosign looks for them.
func VerifyRemote(ctx context.Context, ref name.Reference, pub crypto.PublicKey, opts ...Option) (*Report, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	ropts := append(o.remote, remote.WithContext(ctx))
	desc, err := remote.Head(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", ref, err)
	}
	st := &remoteStore{repo: ref.Context(), opts: o.remote}
	root := subject{Name: ref.String(), Desc: v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest}}
	return verifyAll(ctx, st, []subject{root}, pub, o)
}

func verifyAll(ctx context.Context, st store, roots []subject, pub crypto.PublicKey, o *options) (*Report, error) {
	t, err := o.trust(pub)
	if err != nil {
		return nil, err
	}
	r := &Report{Source: st.Describe()}
	for _, s := range expand(ctx, st, roots) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := Check{Name: s.Name, Digest: s.Desc.Digest, Err: s.Err}
		if c.Err == nil {
			c.Legacy, c.Bundle = verifySubject(ctx, st, s.Desc.Digest, t, o.formats)
			refs, err := st.Referrers(ctx, s.Desc.Digest)
			if err != nil {
				c.Attestations = Verdict{Required: true, Problems: []string{err.Error()}}
			} else {
				c.Attestations = verifyAttestations(ctx, st, s.Desc.Digest, refs, t, o.formats)
			}
		}
		r.Checks = append(r.Checks, c)
	}
	return r, r.Err()
}

// verifySubject checks the signatures of one manifest in each format.
func verifySubject(ctx context.Context, st store, h v1.Hash, t trust, f Formats) (legacy, bundle Verdict) {
	if f&Legacy != 0 {
		legacy.Required = true
		layers, _, err := readLegacy(ctx, st, h)
		if err != nil {
			legacy.Problems = append(legacy.Problems, err.Error())
		}
		for _, l := range layers {
			if err := checkLegacy(l, h, t); err != nil {
				legacy.Problems = append(legacy.Problems, err.Error())
			} else {
				legacy.Valid++
			}
		}
	}
	if f&Bundle != 0 {
		bundle.Required = true
		refs, err := st.Referrers(ctx, h)
		if err != nil {
			bundle.Problems = append(bundle.Problems, err.Error())
		}
		for _, d := range refs {
			raw, err := readBundle(ctx, st, d)
			if err == nil {
				err = checkBundle(raw, h, t)
			}
			switch {
			case errors.Is(err, errNotSignature):
			case err != nil:
				bundle.Problems = append(bundle.Problems, fmt.Sprintf("referrer %s: %v", short(d.Digest), err))
			default:
				bundle.Valid++
			}
		}
	}
	return legacy, bundle
}
