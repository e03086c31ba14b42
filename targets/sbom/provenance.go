package sbom

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Provenance types.
const (
	// ProvenanceMediaType is the artifactType of a provenance referrer: its
	// layer is the SLSA provenance v1 predicate.
	ProvenanceMediaType     = "application/vnd.dev.gantry.slsa.provenance.v1+json"
	ProvenancePredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names how Gantry builds: go build, then an OCI image.
	BuildType = "https://gantry.build/buildtypes/go-oci/v1"
	// BuilderID identifies Gantry as the builder.
	BuilderID = "https://github.com/gantrybuild/gantry"
)

// Provenance is a SLSA provenance v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

type ResourceDescriptor struct {
	URI    string            `json:"uri,omitempty"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

type RunDetails struct {
	Builder  Builder       `json:"builder"`
	Metadata BuildMetadata `json:"metadata"`
}

type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

type BuildMetadata struct {
	StartedOn  string `json:"startedOn,omitempty"`
	FinishedOn string `json:"finishedOn,omitempty"`
}

// ImageProvenance is the SLSA provenance v1 predicate of one platform
// image: Gantry as builder, the platform, main package and configuration as
// external parameters, the build settings as internal ones, the git source, base image and Go toolchain as resolved
// dependencies, and the reproducible created time as start and finish (a
// reproducible build has no other time to give).
func ImageProvenance(img Image, builder string) Provenance {
	ext := map[string]any{"platform": platform.String(img.Platform), "image": repoOf(img.Name, img.Identity)}
	if img.Version != "" {
		ext["version"] = img.Version
	}
	if len(img.Config) > 0 {
		ext["config"] = img.Config
	}
	internal := map[string]any{}
	var deps []ResourceDescriptor
	if img.Source != "" || img.Revision != "" {
		d := ResourceDescriptor{URI: gitURI(img.Source, img.Revision), Name: "source"}
		if img.Revision != "" {
			d.Digest = map[string]string{"gitCommit": img.Revision}
		}
		deps = append(deps, d)
	}
	if img.BaseDigest != "" {
		if h, err := parseHash(img.BaseDigest); err == nil {
			deps = append(deps, ResourceDescriptor{URI: ociPURL(baseRepo(img.BaseName), h, nil), Name: "base", Digest: map[string]string{h.Algorithm: h.Hex}})
		}
	}
	if bi := img.Binary.Info; bi != nil {
		ext["mainPackage"] = bi.Path
		ext["mainModule"] = bi.Main.Path
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		internal["buildSettings"] = settings
		deps = append(deps, ResourceDescriptor{URI: golangPURL("stdlib", "v"+trimGo(bi.GoVersion)), Name: "go-toolchain"})
		if img.Binary.SHA256.Hex != "" {
			internal["binary"] = map[string]any{"path": img.Binary.Path, "sha256": img.Binary.SHA256.Hex}
		}
	}
	if len(internal) == 0 {
		internal = nil
	}
	at := img.Created.UTC().Format(time.RFC3339)
	return Provenance{
		BuildDefinition: BuildDefinition{BuildType: BuildType, ExternalParameters: ext, InternalParameters: internal, ResolvedDependencies: deps},
		RunDetails: RunDetails{
			Builder:  Builder{ID: BuilderID, Version: map[string]string{"gantry": builder}},
			Metadata: BuildMetadata{StartedOn: at, FinishedOn: at},
		},
	}
}

// EncodeProvenance writes p as indented JSON (map keys sorted).
func EncodeProvenance(p Provenance) ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding provenance: %w", err)
	}
	return append(b, '\n'), nil
}

// gitURI is the SLSA spelling of a git source: git+<url>@<revision>.
func gitURI(source, rev string) string {
	if source == "" {
		return ""
	}
	u := "git+" + source
	if rev != "" {
		u += "@" + rev
	}
	return u
}

func trimGo(v string) string {
	if len(v) > 2 && v[:2] == "go" {
		return v[2:]
	}
	return v
}
