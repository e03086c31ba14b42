package compile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want []string
	}{{
		name: "minimal",
		req:  Request{Package: "."},
		want: []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", "/out/app_linux_amd64", "."},
	}, {
		name: "everything",
		req: Request{
			Package: "./cmd/app",
			Vendor:  true,
			Tags:    []string{"netgo", "osusergo"},
			Vars: map[string]string{
				"main.version": "v1.2.3",
				"main.commit":  "0123abc",
				"main.note":    "built by gantry",
				"main.quote":   `say "hi"`,
				"main.empty":   "",
			},
			Ldflags: []string{"-extldflags=-static", "-linkmode", "internal"},
		},
		want: []string{
			"build", "-trimpath", "-buildvcs=false", "-mod=vendor", "-tags", "netgo,osusergo",
			"-ldflags", `-s -w -X main.commit=0123abc -X main.empty= -X 'main.note=built by gantry' -X 'main.quote=say "hi"' -X main.version=v1.2.3 -extldflags=-static -linkmode internal`,
			"-o", "/out/app_linux_amd64", "./cmd/app",
		},
	}, {
		name: "single quote",
		req:  Request{Package: ".", Vars: map[string]string{"main.v": "it's"}},
		want: []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", `-s -w -X "main.v=it's"`, "-o", "/out/app_linux_amd64", "."},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Args(tt.req, "/out/app_linux_amd64")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Args mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"both quotes", Request{Vars: map[string]string{"main.v": `'a' "b"`}}, `linker argument "main.v='a' \"b\"" contains both single and double quotes`},
		{"empty var name", Request{Vars: map[string]string{"": "x"}}, `-X variable name "" is empty`},
		{"var name with =", Request{Vars: map[string]string{"main.a=b": "x"}}, `-X variable name "main.a=b" is empty or contains '='`},
		{"tag with comma", Request{Tags: []string{"a,b"}}, `build tag "a,b" is empty or contains a comma`},
		{"empty tag", Request{Tags: []string{""}}, `build tag "" is empty`},
	}
	for _, tt := range tests {
		_, err := Args(tt.req, "/out/x")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Args error = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestEnv(t *testing.T) {
	base := []string{"PATH=/bin", "GOOS=darwin", "GOARCH=riscv64", "CGO_ENABLED=1", "GOARM=6", "GOAMD64=v3", "GOARM64=v9.0", "GO386=softfloat", "GOFLAGS=-mod=mod", "GOCACHE=/c"}
	keep := []string{"PATH=/bin", "GOFLAGS=-mod=mod", "GOCACHE=/c", "CGO_ENABLED=0"}
	tests := []struct {
		p    v1.Platform
		want []string
	}{
		{v1.Platform{OS: "linux", Architecture: "amd64"}, append(keep, "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1")},
		{v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, append(keep, "GOOS=linux", "GOARCH=amd64", "GOAMD64=v3")},
		{v1.Platform{OS: "linux", Architecture: "arm64"}, append(keep, "GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0")},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, append(keep, "GOOS=linux", "GOARCH=arm", "GOARM=7")},
		// No variant: the inherited GOARM=6 is dropped, not passed on.
		{v1.Platform{OS: "linux", Architecture: "arm"}, append(keep, "GOOS=linux", "GOARCH=arm")},
		{v1.Platform{OS: "linux", Architecture: "386"}, append(keep, "GOOS=linux", "GOARCH=386")},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Env(base, tt.p)); diff != "" {
			t.Errorf("Env(%v) mismatch (-want +got):\n%s", tt.p, diff)
		}
	}
}
