package assemble

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The security descriptor Gantry (and ko) write is self-relative, owner
// and group BUILTIN\Users (S-1-5-32-545), and has no DACL or SACL.
func TestWindowsBinarySD(t *testing.T) {
	sd, err := base64.StdEncoding.DecodeString(windowsBinarySD)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	const selfRelative, daclPresent, saclPresent = 0x8000, 0x0004, 0x0010
	control := le.Uint16(sd[2:])
	if sd[0] != 1 || control&selfRelative == 0 || control&(daclPresent|saclPresent) != 0 {
		t.Errorf("revision %d control %#x: want revision 1, self-relative, no DACL or SACL", sd[0], control)
	}
	sid := func(off uint32) string {
		b := sd[off:]
		auth := uint64(0)
		for _, c := range b[2:8] {
			auth = auth<<8 | uint64(c)
		}
		s := fmt.Sprintf("S-%d-%d", b[0], auth)
		for i := 0; i < int(b[1]); i++ {
			s += fmt.Sprintf("-%d", le.Uint32(b[8+4*i:]))
		}
		return s
	}
	if owner, group := sid(le.Uint32(sd[4:])), sid(le.Uint32(sd[8:])); owner != "S-1-5-32-545" || group != "S-1-5-32-545" {
		t.Errorf("owner %s group %s, want BUILTIN\\Users (S-1-5-32-545) for both", owner, group)
	}
}

func TestWindowsEnv(t *testing.T) {
	tests := []struct {
		base, want []string
	}{
		{nil, []string{`PATH=C:\app;C:\Windows\system32;C:\Windows`}},
		{[]string{`PATH=C:\Windows\system32;C:\Windows`}, []string{`PATH=C:\app;C:\Windows\system32;C:\Windows`}},
		{[]string{"A=1", `Path=C:\x`, "B=2"}, []string{"A=1", `Path=C:\app;C:\x`, "B=2"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, windowsEnv(tt.base, `C:\app`)); diff != "" {
			t.Errorf("windowsEnv(%q) (-want +got):\n%s", tt.base, diff)
		}
	}
	if got := windowsPath("/app/hello.exe"); got != `C:\app\hello.exe` {
		t.Errorf("windowsPath = %q", got)
	}
}

func TestWindowsBaseKeywords(t *testing.T) {
	win := v1.Platform{OS: "windows", Architecture: "amd64"}
	for _, spec := range []string{"", "static", "scratch"} {
		_, err := ResolveBase(context.Background(), spec, win)
		if err == nil || !strings.Contains(err.Error(), "is linux-only: a windows/amd64 image needs a Windows base") {
			t.Errorf("ResolveBase(%q, windows/amd64) = %v, want the linux-only error", spec, err)
		}
	}
}

// A base index with windows images for two Windows releases is ambiguous:
// each runs on its own host build.
func TestWindowsBaseAmbiguous(t *testing.T) {
	desc := func(arch, osv string) v1.Descriptor {
		return v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "windows", Architecture: arch, OSVersion: osv}}
	}
	win := v1.Platform{OS: "windows", Architecture: "amd64"}
	one := []v1.Descriptor{desc("amd64", "10.0.20348.1"), desc("arm64", "10.0.26100.1")}
	if err := windowsAmbiguity(one, win, "b"); err != nil {
		t.Errorf("one amd64 image: %v", err)
	}
	two := append(one, desc("amd64", "10.0.17763.1"))
	err := windowsAmbiguity(two, win, "b")
	if err == nil || !strings.Contains(err.Error(), "os.version 10.0.20348.1, 10.0.17763.1") {
		t.Errorf("two amd64 images: %v, want both os.versions named", err)
	}
	if _, _, err := imageFromIndex(empty.Index, win, "b"); err == nil || !strings.Contains(err.Error(), `Bases["windows"]`) {
		t.Errorf("a base without windows images: %v, want the Bases hint", err)
	}
}

// A base's Docker foreign layer is listed with its OCI twin and keeps its
// URLs and annotations.
func TestForeignLayerDescriptor(t *testing.T) {
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: randomLayer(t), MediaType: types.DockerForeignLayer,
		URLs: []string{"https://example.com/layer"}, Annotations: map[string]string{"a": "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// As a registry base: its layers are described by the manifest.
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/windows/base:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	back, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := back.Layers()
	if err != nil {
		t.Fatal(err)
	}
	l, err := withOCIMediaType(ls[0])
	if err != nil {
		t.Fatal(err)
	}
	out, err := ociImage([]v1.Layer{l}, &v1.ConfigFile{OS: "windows", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := out.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	got := m.Layers[0]
	if got.MediaType != types.OCIRestrictedLayer || !cmp.Equal(got.URLs, []string{"https://example.com/layer"}) || got.Annotations["a"] != "b" {
		t.Errorf("foreign layer descriptor = %+v, want %s with the URLs and annotations", got, types.OCIRestrictedLayer)
	}
}

func randomLayer(t *testing.T) v1.Layer {
	t.Helper()
	l, err := random.Layer(64, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
