package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// maxLegacyLayers is cosign's limit on the signatures of one manifest.
const maxLegacyLayers = 1000

// errInvalid marks a signature that is present but does not verify.
var errInvalid = errors.New("signature does not verify with the key")

// legacyLayer is one signature in a legacy signature manifest.
type legacyLayer struct {
	desc    v1.Descriptor // as the manifest lists it, annotations included
	payload []byte
}

// readLegacy returns the signatures in the legacy signature manifest of h
// (tag sha256-<hex>.sig); found is false when there is none.
func readLegacy(ctx context.Context, st store, h v1.Hash) (layers []legacyLayer, found bool, err error) {
	return readLegacyTag(ctx, st, sigtag.Signature(h))
}

// readLegacyTag returns the layers of the legacy signature or attestation
// manifest tag names; found is false when there is none.
func readLegacyTag(ctx context.Context, st store, tag string) (layers []legacyLayer, found bool, err error) {
	d, ok, err := st.Tag(ctx, tag)
	if err != nil || !ok {
		return nil, false, err
	}
	raw, err := st.Manifest(ctx, d.Digest)
	if err != nil {
		return nil, true, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, true, fmt.Errorf("signature manifest %s: %w", d.Digest, err)
	}
	if len(m.Layers) > maxLegacyLayers {
		return nil, true, fmt.Errorf("signature manifest %s has %d signatures, more than %d", d.Digest, len(m.Layers), maxLegacyLayers)
	}
	for _, l := range m.Layers {
		p, err := st.Blob(ctx, l)
		if err != nil {
			return nil, true, fmt.Errorf("signature payload: %w", err)
		}
		layers = append(layers, legacyLayer{desc: l, payload: p})
	}
	return layers, true, nil
}

// checkLegacy returns nil when l is a signature of manifest h that t
// accepts, else what is wrong with it.
func checkLegacy(l legacyLayer, h v1.Hash, t trust) error {
	if l.desc.MediaType != SimpleSigningMediaType {
		return fmt.Errorf("layer %s is a %s, not a simple-signing payload", l.desc.Digest, l.desc.MediaType)
	}
	b64, ok := l.desc.Annotations[SignatureAnnotation]
	if !ok {
		return fmt.Errorf("layer %s has no %s annotation", l.desc.Digest, SignatureAnnotation)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("layer %s: signature is not base64: %w", l.desc.Digest, err)
	}
	signed, err := SimpleSigningDigest(l.payload)
	if err != nil {
		return err
	}
	if signed != h {
		return fmt.Errorf("payload names manifest %s, not %s", signed, h)
	}
	return t.layer(l.desc.Annotations, l.payload, sig, sig)
}

// newLegacyLayer signs the simple-signing payload for h; a Certified
// signer's certificate, chain and timestamp go into its annotations.
func newLegacyLayer(ctx context.Context, sg *signing, identity string, h v1.Hash) (legacyLayer, error) {
	p, err := SimpleSigning(identity, h)
	if err != nil {
		return legacyLayer{}, err
	}
	sig, err := sg.s.Sign(ctx, p)
	if err != nil {
		return legacyLayer{}, err
	}
	ann := map[string]string{}
	if sg.cert != nil {
		if ann, err = certifiedAnnotations(ctx, sg.cert, sig); err != nil {
			return legacyLayer{}, err
		}
	}
	ann[SignatureAnnotation] = base64.StdEncoding.EncodeToString(sig)
	return newLayer(SimpleSigningMediaType, p, ann)
}

// newLayer describes payload as a layer of a legacy signature or
// attestation manifest.
func newLayer(mt types.MediaType, payload []byte, annotations map[string]string) (legacyLayer, error) {
	d, size, err := v1.SHA256(bytes.NewReader(payload))
	if err != nil {
		return legacyLayer{}, err
	}
	return legacyLayer{
		desc:    v1.Descriptor{MediaType: mt, Size: size, Digest: d, Annotations: annotations},
		payload: payload,
	}, nil
}

// legacyImage is cosign's signature image holding layers in order: an
// empty OCI image (config history and diff IDs filled in by ggcr as cosign
// does) with one uncompressed payload layer per signature.
func legacyImage(layers []legacyLayer) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{
			Layer:       static.NewLayer(l.payload, l.desc.MediaType),
			Annotations: l.desc.Annotations,
		})
	}
	return mutate.Append(img, adds...)
}
