package sbom

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/gantrybuild/gantry/targets/platform"
)

// CycloneDX media and predicate types.
const (
	CycloneDXMediaType     = "application/vnd.cyclonedx+json"
	CycloneDXPredicateType = "https://cyclonedx.org/bom"
)

// cycloneDXVersion is the CycloneDX specification version written.
const cycloneDXVersion = cdx.SpecVersion1_6

// ImageCycloneDX is the CycloneDX BOM of one platform image: the same
// content as ImageDocument (image, main module, toolchain and build
// settings, dependency modules, base).
func ImageCycloneDX(img Image, builder string) *cdx.BOM {
	repo := repoOf(img.Name, img.Identity)
	p := img.Platform
	imgRef := ociPURL(repo, img.Digest, &p)
	bom := newBOM(img.Digest.Hex, builder, img.Created.UTC().Format("2006-01-02T15:04:05Z"))
	bom.Metadata.Component = &cdx.Component{
		BOMRef: imgRef, Type: cdx.ComponentTypeContainer, Name: repo, Version: img.Version, PackageURL: imgRef,
		Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: img.Digest.Hex}},
		Properties: &[]cdx.Property{{Name: "gantry:platform", Value: platform.String(p)}},
	}
	var comps []cdx.Component
	var deps []cdx.Dependency
	bi := img.Binary.Info
	if bi != nil {
		mainRef := golangPURL(bi.Main.Path, bi.Main.Version)
		props := []cdx.Property{{Name: "gantry:main-package", Value: bi.Path}, {Name: "gantry:go-version", Value: bi.GoVersion}, {Name: "gantry:path", Value: img.Binary.Path}}
		for _, s := range bi.Settings {
			props = append(props, cdx.Property{Name: "gantry:build:" + s.Key, Value: s.Value})
		}
		comps = append(comps, cdx.Component{BOMRef: mainRef, Type: cdx.ComponentTypeApplication, Name: bi.Main.Path, Version: bi.Main.Version, PackageURL: mainRef, Properties: &props})
		stdRef := golangPURL("stdlib", "v"+trimGo(bi.GoVersion))
		comps = append(comps, cdx.Component{BOMRef: stdRef, Type: cdx.ComponentTypeLibrary, Name: "stdlib", Version: bi.GoVersion, PackageURL: stdRef})
		mainDeps := []string{stdRef}
		for _, m := range bi.Deps {
			eff := m
			if m.Replace != nil {
				eff = m.Replace
			}
			ref := golangPURL(eff.Path, eff.Version)
			c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: eff.Version, PackageURL: ref}
			sum := eff.Sum
			if sum == "" {
				sum = img.Sums[eff.Path+" "+eff.Version]
			}
			if h := h1Hex(sum); h != "" {
				c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h}}
			}
			if l := img.Licenses[m.Path]; l != "" {
				c.Licenses = &cdx.Licenses{{Expression: l}}
			}
			if m.Replace != nil {
				c.Properties = &[]cdx.Property{{Name: "gantry:replaces", Value: m.Path + " " + m.Version}}
			}
			comps = append(comps, c)
			mainDeps = append(mainDeps, ref)
		}
		deps = append(deps, cdx.Dependency{Ref: imgRef, Dependencies: &[]string{mainRef}}, cdx.Dependency{Ref: mainRef, Dependencies: &mainDeps})
	}
	for _, f := range img.Files {
		comps = append(comps, cdx.Component{
			BOMRef: "file:" + f.Path, Type: cdx.ComponentTypeFile, Name: f.Path,
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA1, Value: f.SHA1}, {Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}},
			Properties: &[]cdx.Property{{Name: "gantry:role", Value: "image file"}},
		})
	}
	if img.BaseName != "" {
		c := cdx.Component{BOMRef: "base", Type: cdx.ComponentTypeContainer, Name: img.BaseName}
		if h, err := parseHash(img.BaseDigest); err == nil {
			c.BOMRef = ociPURL(baseRepo(img.BaseName), h, nil)
			c.PackageURL = c.BOMRef
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h.Hex}}
		}
		c.Properties = &[]cdx.Property{{Name: "gantry:role", Value: "base image"}}
		comps = append(comps, c)
	}
	bom.Components = &comps
	if len(deps) > 0 {
		bom.Dependencies = &deps
	}
	return bom
}

// IndexCycloneDX is the CycloneDX BOM of an image index listing its
// platform images.
func IndexCycloneDX(idx Index, builder string) *cdx.BOM {
	repo := repoOf(idx.Name, idx.Identity)
	ref := ociPURL(repo, idx.Digest, nil)
	bom := newBOM(idx.Digest.Hex, builder, idx.Created.UTC().Format("2006-01-02T15:04:05Z"))
	bom.Metadata.Component = &cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeContainer, Name: repo, Version: idx.Version, PackageURL: ref,
		Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: idx.Digest.Hex}}}
	var comps []cdx.Component
	var refs []string
	for _, img := range idx.Images {
		p := img.Platform
		r := ociPURL(repo, img.Digest, &p)
		comps = append(comps, cdx.Component{BOMRef: r, Type: cdx.ComponentTypeContainer, Name: repo, Version: idx.Version, PackageURL: r,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: img.Digest.Hex}}})
		refs = append(refs, r)
	}
	bom.Components = &comps
	bom.Dependencies = &[]cdx.Dependency{{Ref: ref, Dependencies: &refs}}
	return bom
}

// newBOM starts a BOM whose serial number derives from the subject digest
// (a UUID from its hash), so the same image gets the same BOM.
func newBOM(subjectHex, builder, timestamp string) *cdx.BOM {
	bom := cdx.NewBOM()
	sum := sha256.Sum256([]byte("gantry-cyclonedx:" + subjectHex))
	sum[6] = sum[6]&0x0f | 0x50 // version 5 (name-based)
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	bom.Metadata = &cdx.Metadata{
		Timestamp: timestamp,
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "gantry", Version: builder,
		}}},
	}
	return bom
}

// EncodeCycloneDX writes bom as indented CycloneDX JSON with the format's
// own library.
func EncodeCycloneDX(bom *cdx.BOM) ([]byte, error) {
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cycloneDXVersion); err != nil {
		return nil, fmt.Errorf("encoding CycloneDX BOM: %w", err)
	}
	return []byte(strings.TrimRight(buf.String(), "\n") + "\n"), nil
}
