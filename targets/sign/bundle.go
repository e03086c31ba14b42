package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// errNotSignature marks a referrer that is not a signature (an SBOM, an
// attestation with another predicate): kept, never checked.
var errNotSignature = errors.New("not a signature")

// emptyDescriptor is the config of a referrer manifest.
var emptyDescriptor = v1.Descriptor{
	MediaType: EmptyMediaType,
	Size:      int64(len(EmptyJSON)),
	Digest:    v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
}

// newBundle signs the in-toto statement for h with kp into a sigstore
// bundle v0.3 (DSSE envelope, public key hint, no transparency log entry),
// as compact JSON.
func newBundle(ctx context.Context, sg *signing, h v1.Hash) ([]byte, error) {
	stmt, err := Statement(h)
	if err != nil {
		return nil, err
	}
	return dsseBundle(ctx, sg, stmt)
}

// dsseBundle signs the in-toto statement stmt into a sigstore bundle
// v0.3, as compact JSON: with a key hint, or with a Certified signer's
// certificate, log entry and timestamps.
func dsseBundle(ctx context.Context, sg *signing, stmt []byte) ([]byte, error) {
	opts := sgsign.BundleOptions{Context: ctx}
	if sg.cert != nil {
		var err error
		if opts, err = sg.cert.BundleOptions(ctx); err != nil {
			return nil, err
		}
		opts.Context = ctx
	}
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: stmt, PayloadType: InTotoPayloadType}, sg.kp, opts)
	if err != nil {
		return nil, err
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	// protojson varies its whitespace on purpose; compact it away.
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	return buf.Bytes(), nil
}

// referrerManifest is the OCI 1.1 manifest that attaches bundle (its
// descriptor) to subject, as cosign writes it: artifactType the bundle
// media type, the empty config, subject set. Its created annotation is the
// subject's, so signing reads no clock.
func referrerManifest(subj subject, bundle v1.Descriptor, predicateType string) ([]byte, error) {
	ann := map[string]string{
		BundleContentAnnotation:   "dsse-envelope",
		BundlePredicateAnnotation: predicateType,
	}
	if subj.Created != "" {
		ann[createdAnnotation] = subj.Created
	}
	return json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  BundleMediaType,
		Config:        emptyDescriptor,
		Layers:        []v1.Descriptor{bundle},
		Subject:       &v1.Descriptor{MediaType: subj.Desc.MediaType, Size: subj.Desc.Size, Digest: subj.Desc.Digest},
		Annotations:   ann,
	})
}

// referrerDescriptor describes a referrer manifest in a referrers list:
// media type, size, digest, artifactType and annotations, as the
// distribution spec (and ggcr's tag fallback) list them.
func referrerDescriptor(raw []byte) (v1.Descriptor, error) {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return v1.Descriptor{}, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, err
	}
	at := m.ArtifactType
	if at == "" {
		at = string(m.Config.MediaType)
	}
	return v1.Descriptor{MediaType: m.MediaType, Size: size, Digest: h, ArtifactType: at, Annotations: m.Annotations}, nil
}

// fallbackIndex is the referrers tag fallback index listing descs, sorted by
// digest as ggcr's writer sorts it, so pushing it and letting ggcr
// maintain the tag give the same bytes.
func fallbackIndex(descs []v1.Descriptor) ([]byte, error) {
	descs = slices.Clone(descs)
	slices.SortFunc(descs, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	return json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs})
}

// readBundle returns the bundle a referrer manifest holds, or
// errNotSignature when it holds none.
func readBundle(ctx context.Context, st store, d v1.Descriptor) ([]byte, error) {
	if d.ArtifactType != "" && !strings.HasPrefix(d.ArtifactType, "application/vnd.dev.sigstore.bundle") {
		return nil, errNotSignature
	}
	raw, err := st.Manifest(ctx, d.Digest)
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("referrer %s: %w", d.Digest, err)
	}
	if len(m.Layers) != 1 || !strings.HasPrefix(string(m.Layers[0].MediaType), "application/vnd.dev.sigstore.bundle") {
		return nil, errNotSignature
	}
	return st.Blob(ctx, m.Layers[0])
}

// checkBundle returns nil when raw is a sigstore bundle signing manifest h
// (cosign sign's statement) that t accepts; errNotSignature when it is an
// attestation; else what is wrong with it.
func checkBundle(raw []byte, h v1.Hash, t trust) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("not a valid sigstore bundle: %w", err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return errors.New("bundle holds no DSSE envelope")
	}
	if env.GetPayloadType() != InTotoPayloadType {
		return fmt.Errorf("bundle payload is a %q, not an in-toto statement", env.GetPayloadType())
	}
	subjects, predicate, err := StatementSubjects(env.GetPayload())
	if err != nil {
		return err
	}
	if predicate != SignPredicateType {
		return errNotSignature
	}
	if !slices.Contains(subjects, h) {
		return fmt.Errorf("bundle statement names %v, not manifest %s", subjects, h)
	}
	return t.bundle(&b, h)
}
