// Package ocitest holds test helpers that validate what Gantry writes: OCI
// layouts against the image-spec JSON schemas and ggcr's validate, and the
// binaries inside image layers.
package ocitest

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"debug/pe"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/image-spec/schema"

	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// ValidateLayout checks a whole OCI image layout: the oci-layout file,
// index.json and every manifest, index and config reachable from it against
// the image-spec JSON schemas, and every image and index with ggcr's
// validate (which re-hashes every blob and layer). Signature artifacts
// (entries named sha256-<hex>[.sig]) are checked against the schemas only:
// ggcr's validate rejects cosign's signature images, whose layers are not
// filesystem layers.
func ValidateLayout(t testing.TB, dir string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	if err != nil {
		t.Fatalf("reading oci-layout: %v", err)
	}
	if got, want := strings.TrimSpace(string(raw)), `{"imageLayoutVersion":"1.0.0"}`; got != want {
		t.Errorf("oci-layout = %s, want %s", got, want)
	}
	if err := schema.ValidatorMediaTypeLayoutHeader.Validate(bytes.NewReader(raw)); err != nil {
		t.Errorf("oci-layout fails the schema: %v", err)
	}
	ij, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("reading index.json: %v", err)
	}
	if err := schema.ValidatorMediaTypeImageIndex.Validate(bytes.NewReader(ij)); err != nil {
		t.Errorf("index.json fails the image-index schema: %v", err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(ij, &im); err != nil {
		t.Fatalf("parsing index.json: %v", err)
	}
	for _, d := range im.Manifests {
		validateBlob(t, dir, d)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("ggcr reading layout: %v", err)
	}
	for _, d := range im.Manifests {
		switch {
		case sigtag.IsEntry(d):
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err == nil {
				err = validateIndex(child)
			}
			if err != nil {
				t.Errorf("ggcr validate.Index(%s@%s): %v", dir, d.Digest, err)
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err == nil {
				err = validateImage(img)
			}
			if err != nil {
				t.Errorf("ggcr validate.Image(%s@%s): %v", dir, d.Digest, err)
			}
		}
	}
}

// validateIndex is ggcr's validate.Index, except that its images are
// checked with validateImage (so foreign layers are allowed), and each
// child's platform with the image config's, os.version included.
func validateIndex(idx v1.ImageIndex) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	foreign := false
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		m, err := img.Manifest()
		if err != nil {
			return err
		}
		for _, l := range m.Layers {
			foreign = foreign || !l.MediaType.IsDistributable()
		}
	}
	if !foreign {
		return validate.Index(idx)
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := validateIndex(child); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return err
			}
			if err := validateImage(img); err != nil {
				return fmt.Errorf("image %s: %w", d.Digest, err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return err
			}
			if d.Platform != nil && (d.Platform.OS != cf.OS || d.Platform.Architecture != cf.Architecture || d.Platform.Variant != cf.Variant || d.Platform.OSVersion != cf.OSVersion) {
				return fmt.Errorf("image %s: index platform %v, config %s/%s/%s os.version %q", d.Digest, d.Platform, cf.OS, cf.Architecture, cf.Variant, cf.OSVersion)
			}
		}
	}
	return nil
}

// validateImage is ggcr's validate.Image, except that an image with foreign
// (non-distributable) layers, which a layout never holds, has each of its
// other layers validated and its config and manifest checked with
// validate.Fast over the layers that are there.
func validateImage(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	foreign := 0
	for _, l := range m.Layers {
		if !l.MediaType.IsDistributable() {
			foreign++
		}
	}
	if foreign == 0 {
		return validate.Image(img)
	}
	for _, ld := range m.Layers {
		if !ld.MediaType.IsDistributable() {
			if len(ld.URLs) == 0 {
				return fmt.Errorf("foreign layer %s has no URLs", ld.Digest)
			}
			continue
		}
		l, err := img.LayerByDigest(ld.Digest)
		if err != nil {
			return err
		}
		if err := validate.Layer(l); err != nil {
			return fmt.Errorf("layer %s: %w", ld.Digest, err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("config lists %d diff_ids for %d layers", len(cf.RootFS.DiffIDs), len(m.Layers))
	}
	return nil
}

// Entries lists the tar headers of a layer, in order.
func Entries(t testing.TB, l v1.Layer) []*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

// LayerFile returns the content of path (as the tar names it) in layer l.
func LayerFile(t testing.TB, l v1.Layer, path string) []byte {
	t.Helper()
	data, ok := fileInLayer(t, l, path)
	if !ok {
		t.Fatalf("no %s in the layer", path)
	}
	return data
}

// PEMachine returns the machine of a Windows (PE) executable.
func PEMachine(data []byte) (uint16, uint16, error) {
	f, err := pe.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("not a PE file: %w", err)
	}
	var subsystem uint16
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		subsystem = oh.Subsystem
	case *pe.OptionalHeader32:
		subsystem = oh.Subsystem
	}
	return f.Machine, subsystem, nil
}

// validateBlob checks the descriptor's blob against its schema and recurses.
func validateBlob(t testing.TB, dir string, d v1.Descriptor) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
	if err != nil {
		t.Errorf("blob %s: %v", d.Digest, err)
		return
	}
	if int64(len(raw)) != d.Size {
		t.Errorf("blob %s is %d bytes, descriptor says %d", d.Digest, len(raw), d.Size)
	}
	switch {
	case d.MediaType.IsIndex():
		if err := schema.ValidatorMediaTypeImageIndex.Validate(bytes.NewReader(raw)); err != nil {
			t.Errorf("index %s fails the schema: %v", d.Digest, err)
		}
		var im v1.IndexManifest
		if err := json.Unmarshal(raw, &im); err != nil {
			t.Errorf("index %s: %v", d.Digest, err)
			return
		}
		for _, c := range im.Manifests {
			validateBlob(t, dir, c)
		}
	case d.MediaType.IsImage():
		if err := schema.ValidatorMediaTypeManifest.Validate(bytes.NewReader(raw)); err != nil {
			t.Errorf("manifest %s fails the schema: %v", d.Digest, err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("manifest %s: %v", d.Digest, err)
			return
		}
		cfg, err := os.ReadFile(filepath.Join(dir, "blobs", m.Config.Digest.Algorithm, m.Config.Digest.Hex))
		if err != nil {
			t.Errorf("config of %s: %v", d.Digest, err)
			return
		}
		if m.Config.MediaType != types.OCIConfigJSON && m.Config.MediaType != types.DockerConfigJSON {
			return // an artifact (a signature bundle's empty config): no image config schema
		}
		if err := schema.ValidatorMediaTypeImageConfig.Validate(bytes.NewReader(cfg)); err != nil {
			t.Errorf("config %s fails the schema: %v", m.Config.Digest, err)
		}
	}
}

// File returns the content of path (no leading slash) in the image's
// flattened file system, read from the layers top down.
func File(t testing.TB, img v1.Image, path string) []byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if data, ok := fileInLayer(t, layers[i], path); ok {
			return data
		}
	}
	t.Fatalf("no %s in the image", path)
	return nil
}

func fileInLayer(t testing.TB, l v1.Layer, path string) ([]byte, bool) {
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, false
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "/") == path && h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data, true
		}
	}
}

// ELFMachine returns the machine of an ELF executable.
func ELFMachine(data []byte) (elf.Machine, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("not an ELF file: %w", err)
	}
	return f.Machine, nil
}

// MachineFor is the ELF machine of a GOARCH (EM_NONE: one no test builds).
func MachineFor(goarch string) elf.Machine {
	switch goarch {
	case "amd64":
		return elf.EM_X86_64
	case "arm64":
		return elf.EM_AARCH64
	case "arm":
		return elf.EM_ARM
	case "386":
		return elf.EM_386
	case "riscv64":
		return elf.EM_RISCV
	case "ppc64le":
		return elf.EM_PPC64
	case "s390x":
		return elf.EM_S390
	}
	return elf.EM_NONE
}
