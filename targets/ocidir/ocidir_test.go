package ocidir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestOpenCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dist", "oci")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Path(); got != dir {
		t.Errorf("Path() = %q, want %q", got, dir)
	}
	for name, want := range map[string]string{
		"oci-layout": `{"imageLayoutVersion":"1.0.0"}`,
		"index.json": `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`,
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "blobs", "sha256")); err != nil || !fi.IsDir() {
		t.Errorf("blobs/sha256: %v, %v", fi, err)
	}
	if _, err := os.Stat(dir + ".lock"); err == nil {
		t.Errorf("Open created the lock file %s.lock; only Lock should", dir)
	}
	checkLayout(t, dir)
}

func TestOpenExisting(t *testing.T) {
	for _, tt := range []struct {
		name    string
		files   map[string]string // relative path → content
		wantErr string            // substring; "" means success
	}{
		{name: "empty dir"},
		{name: "only our temp files", files: map[string]string{tempPrefix + "123": "x"}},
		{name: "extra oci-layout fields", files: map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0","x":1}`}},
		{
			name:    "not a layout",
			files:   map[string]string{"app.tar": "x"},
			wantErr: `" is not an OCI image layout (no oci-layout file); remove it or choose another output directory`,
		},
		{name: "corrupt oci-layout", files: map[string]string{"oci-layout": `{"imageLayout`}, wantErr: `oci-layout" is corrupt`},
		{name: "empty oci-layout", files: map[string]string{"oci-layout": ``}, wantErr: `oci-layout" is corrupt`},
		{name: "no version", files: map[string]string{"oci-layout": `{}`}, wantErr: `oci-layout" has no imageLayoutVersion`},
		{name: "wrong version", files: map[string]string{"oci-layout": `{"imageLayoutVersion":"2.0.0"}`}, wantErr: `oci-layout" has imageLayoutVersion "2.0.0"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Open(dir)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				checkLayout(t, dir)
				for name, want := range tt.files {
					got, err := os.ReadFile(filepath.Join(dir, name))
					if name == "oci-layout" && (err != nil || string(got) != want) {
						t.Errorf("Open rewrote oci-layout: got %q, %v; want %q", got, err, want)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Open: got error %v, want one naming %s and containing %q", err, dir, tt.wantErr)
			}
		})
	}
}

func TestOpenKeepsIndexJSON(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := d.WriteImage(t.Context(), testImage(t, 1, 1024, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteIndexJSON([]v1.Descriptor{desc}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("Open changed index.json (-before +after):\n%s", diff)
	}
}

func TestOpenRejectsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "oci")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("Open(file) = %v, want an error naming %s", err, p)
	}
}
