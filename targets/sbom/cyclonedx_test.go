package sbom_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/gantrybuild/gantry/targets/sbom"
)

// validateCycloneDX decodes a BOM with CycloneDX's library and validates
// it against the CycloneDX 1.6 JSON schema the library ships.
func validateCycloneDX(t *testing.T, raw []byte) {
	t.Helper()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(raw), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("CycloneDX's library does not read the BOM: %v", err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.BOMFormat != "CycloneDX" {
		t.Errorf("BOM is %s %s, want CycloneDX 1.6", bom.BOMFormat, bom.SpecVersion)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("locating CycloneDX's schemas: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	c := jsonschema.NewCompiler()
	c.LoadURL = func(u string) (io.ReadCloser, error) { // the schemas refer to each other online
		if name, ok := strings.CutPrefix(u, "http://cyclonedx.org/schema/"); ok {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil { // the module ships the signature schema as .schemax.json
				f, err = os.Open(filepath.Join(dir, strings.Replace(name, ".schema.json", ".schemax.json", 1)))
			}
			return f, err
		}
		return jsonschema.LoadURL(u)
	}
	s, err := c.Compile(filepath.Join(dir, "bom-1.6.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("BOM does not validate against the CycloneDX 1.6 schema: %v", err)
	}
}

func TestImageCycloneDXGolden(t *testing.T) {
	got, err := sbom.EncodeCycloneDX(sbom.ImageCycloneDX(helloImage(t), "v0.9.0"))
	if err != nil {
		t.Fatal(err)
	}
	validateCycloneDX(t, got)
	golden(t, "hello-arm64.cdx.json", got)
	again, _ := sbom.EncodeCycloneDX(sbom.ImageCycloneDX(helloImage(t), "v0.9.0"))
	if !bytes.Equal(got, again) {
		t.Error("the same image gives different BOM bytes")
	}
}

func TestIndexCycloneDXGolden(t *testing.T) {
	arm := helloImage(t)
	amd := arm
	amd.Platform, amd.Digest = v1.Platform{OS: "linux", Architecture: "amd64"}, hash('d')
	idx := sbom.Index{Name: "hello", Version: "v1.2.3", Identity: "ghcr.io/example/hello", Digest: hash('e'), Created: arm.Created, Images: []sbom.Image{amd, arm}}
	got, err := sbom.EncodeCycloneDX(sbom.IndexCycloneDX(idx, "v0.9.0"))
	if err != nil {
		t.Fatal(err)
	}
	validateCycloneDX(t, got)
	golden(t, "hello.cdx.json", got)
}
