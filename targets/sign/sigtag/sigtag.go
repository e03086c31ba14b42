// Package sigtag names the signature artifacts cosign and the OCI
// referrers tag fallback attach to a manifest: the legacy signature tag
// "sha256-<hex>.sig", the legacy attestation tag "sha256-<hex>.att" and the
// referrers fallback tag "sha256-<hex>". In an
// OCI layout these are the org.opencontainers.image.ref.name of the
// index.json entries that hold a manifest's signatures, so the steps that
// rewrite index.json can tell them from images and keep them.
//
// It is a leaf package (only ggcr's v1 and the image-spec) so that the
// layout and index steps can use it without importing the signing code.
package sigtag

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specsv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Kind tells the signature artifacts apart.
type Kind int

const (
	// None is a tag that names no signature artifact.
	None Kind = iota
	// Legacy is cosign's signature manifest, tag "sha256-<hex>.sig".
	Legacy
	// Referrers is the referrers tag fallback index, tag "sha256-<hex>",
	// which lists the manifests whose subject is sha256:<hex>.
	Referrers
	// Attestation is cosign's legacy attestation manifest, tag
	// "sha256-<hex>.att" (DSSE envelopes of in-toto statements).
	Attestation
)

func (k Kind) String() string {
	switch k {
	case Legacy:
		return "legacy signature"
	case Referrers:
		return "referrers"
	case Attestation:
		return "legacy attestation"
	}
	return "none"
}

// RefName is the index.json annotation that names a manifest.
const RefName = specsv1.AnnotationRefName

const (
	legacySuffix      = ".sig"
	attestationSuffix = ".att"
)

// Signature is the legacy cosign signature tag of the manifest h:
// "sha256-<hex>.sig".
func Signature(h v1.Hash) string { return Fallback(h) + legacySuffix }

// AttestationTag is the legacy cosign attestation tag of the manifest h:
// "sha256-<hex>.att".
func AttestationTag(h v1.Hash) string { return Fallback(h) + attestationSuffix }

// Fallback is the referrers tag fallback of the manifest h: "sha256-<hex>"
// (the distribution spec's tag schema for registries without the
// referrers API).
func Fallback(h v1.Hash) string { return h.Algorithm + "-" + h.Hex }

// Parse tells whether tag names a signature artifact and, if so, of which
// manifest. Only sha256 digests are recognised.
func Parse(tag string) (v1.Hash, Kind) {
	kind := Referrers
	if s, ok := strings.CutSuffix(tag, legacySuffix); ok {
		tag, kind = s, Legacy
	} else if s, ok := strings.CutSuffix(tag, attestationSuffix); ok {
		tag, kind = s, Attestation
	}
	hex, ok := strings.CutPrefix(tag, "sha256-")
	if !ok || !isHex(hex) {
		return v1.Hash{}, None
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex}, kind
}

// Is reports whether tag names a signature artifact.
func Is(tag string) bool {
	_, k := Parse(tag)
	return k != None
}

// IsEntry reports whether an index.json descriptor is a signature
// artifact (by its ref name).
func IsEntry(d v1.Descriptor) bool { return Is(d.Annotations[RefName]) }

// Keep returns the signature entries of old whose subject is among
// entries, in their order in old: what a step that rewrites index.json
// keeps so that an unchanged rebuild keeps its signatures. A signature of a
// manifest that is no longer in the layout (it changed) is dropped.
func Keep(old, entries []v1.Descriptor) []v1.Descriptor {
	subjects := map[v1.Hash]bool{}
	for _, d := range entries {
		subjects[d.Digest] = true
	}
	var out []v1.Descriptor
	for _, d := range old {
		if h, k := Parse(d.Annotations[RefName]); k != None && subjects[h] {
			out = append(out, d)
		}
	}
	return out
}

func isHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// PredicateType annotates a referrer manifest (and its descriptor in the
// referrers list) whose one layer is an attestation predicate, e.g. an SPDX
// SBOM: its in-toto predicate type. sign signs every such referrer of a
// manifest it signs into an attestation with that predicate type.
const PredicateType = "in-toto.io/predicate-type"
