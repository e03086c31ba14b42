package sign

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Media types, annotations and URIs of the two signature formats, as cosign
// writes them.
const (
	// SimpleSigningMediaType is the media type of a legacy signature layer:
	// the uncompressed simple-signing payload.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a legacy layer's base64 signature.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"

	// BundleMediaType is the media type of a sigstore bundle v0.3, the
	// artifactType of its referrer manifest and of its layer.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// BundleContentAnnotation and BundlePredicateAnnotation annotate the
	// referrer manifest of a bundle.
	BundleContentAnnotation   = "dev.sigstore.bundle.content"
	BundlePredicateAnnotation = "dev.sigstore.bundle.predicateType"

	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// StatementType is the in-toto statement version cosign signs.
	StatementType = "https://in-toto.io/Statement/v1"
	// SignPredicateType marks a statement that is a signature of its
	// subject (cosign sign's predicate), not an attestation about it.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"

	// EmptyMediaType and EmptyJSON are the OCI empty descriptor a referrer
	// manifest uses as its config.
	EmptyMediaType = "application/vnd.oci.empty.v1+json"
	EmptyJSON      = "{}"

	// createdAnnotation dates a referrer manifest.
	createdAnnotation = "org.opencontainers.image.created"
)

// SimpleSigning is the legacy payload cosign signs for the manifest digest:
// a simple-signing document naming the manifest and, as a claim verifiers
// do not check, the repository it was signed for. It is deterministic.
func SimpleSigning(identity string, digest v1.Hash) ([]byte, error) {
	return json.Marshal(payload.SimpleContainerImage{
		Critical: payload.Critical{
			Identity: payload.Identity{DockerReference: identity},
			Image:    payload.Image{DockerManifestDigest: digest.String()},
			Type:     payload.CosignSignatureType,
		},
	})
}

// SimpleSigningDigest returns the manifest digest a legacy payload signs.
func SimpleSigningDigest(raw []byte) (v1.Hash, error) {
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(raw, &p); err != nil {
		return v1.Hash{}, fmt.Errorf("payload is not a simple-signing document: %w", err)
	}
	h, err := v1.NewHash(p.Critical.Image.DockerManifestDigest)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("payload names no manifest digest (%q)", p.Critical.Image.DockerManifestDigest)
	}
	return h, nil
}

// statement is an in-toto statement v1, the DSSE payload of a bundle.
type statement struct {
	Type          string         `json:"_type"`
	Subject       []resource     `json:"subject"`
	PredicateType string         `json:"predicateType"`
	Predicate     map[string]any `json:"predicate,omitempty"`
}

type resource struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

// Statement is the in-toto statement cosign signs into a bundle for the
// manifest digest: subject = the digest (no name, so the signature does not
// depend on where the image is pushed), predicate type cosign sign's.
func Statement(digest v1.Hash) ([]byte, error) {
	return json.Marshal(statement{
		Type:          StatementType,
		Subject:       []resource{{Digest: map[string]string{digest.Algorithm: digest.Hex}}},
		PredicateType: SignPredicateType,
	})
}

// StatementSubjects returns the digests a statement names and its predicate
// type.
func StatementSubjects(raw []byte) ([]v1.Hash, string, error) {
	var s statement
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, "", fmt.Errorf("payload is not an in-toto statement: %w", err)
	}
	if s.Type != StatementType && s.Type != "https://in-toto.io/Statement/v0.1" {
		return nil, "", fmt.Errorf("payload is not an in-toto statement (_type %q)", s.Type)
	}
	var out []v1.Hash
	for _, r := range s.Subject {
		for alg, hex := range r.Digest {
			out = append(out, v1.Hash{Algorithm: alg, Hex: hex})
		}
	}
	return out, s.PredicateType, nil
}
