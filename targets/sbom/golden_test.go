package sbom_test

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/sbom"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}

func hash(c byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: string(bytes.Repeat([]byte{c}, 64))}
}

// helloImage is the hello example's arm64 image as the build info of its
// binary (testdata/hello-arm64.buildinfo: `go version -m` of a release
// build of testdata/hello, go1.26.8) and its layout describe it.
func helloImage(t *testing.T) sbom.Image {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "hello-arm64.buildinfo"))
	if err != nil {
		t.Fatal(err)
	}
	bi, err := debug.ParseBuildInfo(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	bi.GoVersion = "go1.26.8" // ParseBuildInfo leaves it out
	sum, err := os.ReadFile(filepath.Join(testrepo.TestdataDir(), "hello", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	return sbom.Image{
		Name: "hello", Version: "v1.2.3", Identity: "ghcr.io/example/hello", Digest: hash('a'),
		Platform:   v1.Platform{OS: "linux", Architecture: "arm64"},
		Created:    time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC),
		BaseName:   "gcr.io/distroless/static:nonroot",
		BaseDigest: hash('b').String(),
		Source:     "https://github.com/example/hello",
		Revision:   "0123456789abcdef0123456789abcdef01234567",
		Binary:     sbom.Binary{Path: "/usr/local/bin/hello", Size: 1234, SHA256: hash('c'), Info: (*buildinfo.BuildInfo)(bi)},
		Sums:       sbom.ParseGoSum(sum),
		Licenses:   map[string]string{"golang.org/x/mod": "BSD-3-Clause"},
		Config:     map[string]string{"base": "gcr.io/distroless/static:nonroot", "user": "65532:65532", "binDir": "/usr/local/bin"},
	}
}

// validate parses an SPDX document with SPDX's library and validates it.
func validate(t *testing.T, raw []byte) {
	t.Helper()
	doc, err := spdxjson.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("SPDX's library does not read the document: %v", err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Errorf("SPDX's library does not validate the document: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion %q", doc.SPDXVersion)
	}
}

func TestImageDocumentGolden(t *testing.T) {
	img := helloImage(t)
	got, err := sbom.Encode(sbom.ImageDocument(img, "v0.9.0"))
	if err != nil {
		t.Fatal(err)
	}
	validate(t, got)
	golden(t, "hello-arm64.spdx.json", got)
	again, _ := sbom.Encode(sbom.ImageDocument(helloImage(t), "v0.9.0"))
	if !bytes.Equal(got, again) {
		t.Error("the same image gives different SBOM bytes")
	}
}

func TestIndexDocumentGolden(t *testing.T) {
	arm := helloImage(t)
	amd := arm
	amd.Platform, amd.Digest = v1.Platform{OS: "linux", Architecture: "amd64"}, hash('d')
	idx := sbom.Index{Name: "hello", Version: "v1.2.3", Identity: "ghcr.io/example/hello", Digest: hash('e'), Created: arm.Created, Images: []sbom.Image{amd, arm}}
	got, err := sbom.Encode(sbom.IndexDocument(idx, "v0.9.0"))
	if err != nil {
		t.Fatal(err)
	}
	validate(t, got)
	golden(t, "hello.spdx.json", got)
}

func TestProvenanceGolden(t *testing.T) {
	got, err := sbom.EncodeProvenance(sbom.ImageProvenance(helloImage(t), "v0.9.0"))
	if err != nil {
		t.Fatal(err)
	}
	var p sbom.Provenance
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatal(err)
	}
	if p.RunDetails.Metadata.StartedOn != "2026-11-01T13:00:00Z" || p.BuildDefinition.BuildType != sbom.BuildType {
		t.Errorf("provenance: %+v", p)
	}
	golden(t, "hello-arm64.provenance.json", got)
}
