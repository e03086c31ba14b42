package ocidir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestWriteIndexJSON(t *testing.T) {
	d := openTemp(t)
	var descs []v1.Descriptor
	for i := range 3 {
		desc, err := d.WriteImage(t.Context(), testImage(t, 2, 10<<10, uint64(10+i)))
		if err != nil {
			t.Fatal(err)
		}
		desc.Annotations = map[string]string{"org.opencontainers.image.ref.name": "v1." + string(rune('0'+i))}
		descs = append(descs, desc)
	}
	if err := d.WriteIndexJSON(descs); err != nil {
		t.Fatal(err)
	}
	ii, err := layout.ImageIndexFromPath(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(ii); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	got, err := d.IndexJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := &v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: descs}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IndexJSON (-want +got):\n%s", diff)
	}
	checkLayout(t, d.Path())

	// Same manifests: the file is left alone.
	before, _ := os.Stat(filepath.Join(d.Path(), "index.json"))
	if err := d.WriteIndexJSON(descs); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(d.Path(), "index.json"))
	if !os.SameFile(before, after) {
		t.Error("WriteIndexJSON rewrote an unchanged index.json")
	}

	// Another order is another index.json.
	if err := d.WriteIndexJSON([]v1.Descriptor{descs[2], descs[0]}); err != nil {
		t.Fatal(err)
	}
	got, _ = d.IndexJSON()
	if diff := cmp.Diff([]v1.Descriptor{descs[2], descs[0]}, got.Manifests); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
	if tmp := tempFiles(t, d.Path()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

func TestWriteIndexJSONRefusesMissingManifest(t *testing.T) {
	d := openTemp(t)
	before, _ := os.ReadFile(filepath.Join(d.Path(), "index.json"))
	raw := []byte(`{"schemaVersion":2}`)
	err := d.WriteIndexJSON([]v1.Descriptor{{MediaType: "application/vnd.oci.image.manifest.v1+json", Size: int64(len(raw)), Digest: sha(raw)}})
	if err == nil || !strings.Contains(err.Error(), "write it first") {
		t.Fatalf("WriteIndexJSON(missing manifest) = %v, want an error", err)
	}
	after, _ := os.ReadFile(filepath.Join(d.Path(), "index.json"))
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("index.json changed (-before +after):\n%s", diff)
	}
}

func TestIndexJSONCorrupt(t *testing.T) {
	d := openTemp(t)
	p := filepath.Join(d.Path(), "index.json")
	if err := os.WriteFile(p, nil, 0o644); err != nil { // what ko left behind
		t.Fatal(err)
	}
	if _, err := d.IndexJSON(); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("IndexJSON(empty file) = %v, want an error naming %s", err, p)
	}
}
