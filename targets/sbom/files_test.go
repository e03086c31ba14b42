package sbom

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestFilesInDocuments: the files an image carries besides its binary are
// SPDX files (SHA-1 and SHA-256, contained by the image) and CycloneDX
// components of type file.
func TestFilesInDocuments(t *testing.T) {
	img := Image{
		Name: "app", Version: "v1", Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
		Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)},
		Files: []File{
			{Path: "/var/run/ko/index.html", Size: 4, SHA256: strings.Repeat("1", 64), SHA1: strings.Repeat("2", 40)},
			{Path: "/etc/app.yaml", Size: 8, SHA256: strings.Repeat("3", 64), SHA1: strings.Repeat("4", 40)},
		},
	}
	img.Binary.Info = nil

	doc := ImageDocument(img, "test")
	var got []string
	for _, f := range doc.Files {
		line := f.FileName + " " + string(f.FileSPDXIdentifier)
		for _, c := range f.Checksums {
			line += " " + string(c.Algorithm) + ":" + c.Value[:1]
		}
		got = append(got, line)
	}
	want := []string{
		"/var/run/ko/index.html File-var-run-ko-index.html SHA1:2 SHA256:1",
		"/etc/app.yaml File-etc-app.yaml SHA1:4 SHA256:3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SPDX files (-want +got):\n%s", diff)
	}
	contains := 0
	for _, r := range doc.Relationships {
		if r.Relationship == "CONTAINS" && strings.HasPrefix(string(r.RefB.ElementRefID), "File-") {
			contains++
		}
	}
	if contains != 2 {
		t.Errorf("%d CONTAINS relationships to files, want 2", contains)
	}
	if _, err := Encode(doc); err != nil {
		t.Fatal(err)
	}

	raw, err := EncodeCycloneDX(ImageCycloneDX(img, "test"))
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		Components []struct {
			Type, Name string
			Hashes     []struct{ Alg, Content string }
		}
	}
	if err := json.Unmarshal(raw, &bom); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range bom.Components {
		if c.Type == "file" {
			line := c.Name
			for _, h := range c.Hashes {
				line += " " + h.Alg + ":" + h.Content[:1]
			}
			got = append(got, line)
		}
	}
	if diff := cmp.Diff([]string{"/var/run/ko/index.html SHA-1:2 SHA-256:1", "/etc/app.yaml SHA-1:4 SHA-256:3"}, got); diff != "" {
		t.Errorf("CycloneDX file components (-want +got):\n%s", diff)
	}
}
