package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// app copies testdata/<name> into a new temp dir and returns its path.
func app(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), name), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// module writes a module with go.mod "module path" and the given files.
func module(t *testing.T, path string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module " + path + "\n\ngo 1.24\n"
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const mainGo = "package main\n\nfunc main() {}\n"

func linux(arch, variant string) v1.Platform {
	return v1.Platform{OS: "linux", Architecture: arch, Variant: variant}
}

// defaultImage is what an image in dir of module mod gets with nothing
// configured, apart from Name and Main.
func defaultImage(name, main, dir, mod string) ResolvedImage {
	return ResolvedImage{
		Name: name, Dir: dir, Module: mod, Main: main, Base: "static",
		Platforms: []v1.Platform{linux("amd64", ""), linux("arm64", "")},
		User:      "65532:65532", BinDir: "/usr/local/bin",
		VersionVar: "main.version", RevisionVar: "main.revision", BuildTimeVar: "main.buildTime",
	}
}

func TestLoadZeroConfig(t *testing.T) {
	hello := app(t, "hello")
	got, err := Load(Project{}, nil, hello)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Out:         filepath.Join(hello, "dist"),
		Compression: "gzip",
		Sign:        SignConfig{Sign: Sign{Format: "both", KeygenPrefix: filepath.Join(hello, "cosign")}},
		Images: []ResolvedImage{func() ResolvedImage {
			img := defaultImage("hello", ".", hello, "example.com/hello")
			img.Vendor = true
			return img
		}()},
		Mage: "go tool mage", // no magefiles/go.mod: mage is the root module's tool
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("Load(zero project) mismatch (-want +got):\n%s", diff)
	}
}

// TestResolvedImageHasEveryImageField guards the copy in resolve: a field
// added to Image must reach the build through ResolvedImage.
func TestResolvedImageHasEveryImageField(t *testing.T) {
	resolved := reflect.TypeFor[ResolvedImage]()
	img := reflect.TypeFor[Image]()
	for i := range img.NumField() {
		f := img.Field(i)
		if _, ok := resolved.FieldByName(f.Name); !ok {
			t.Errorf("Image.%s has no ResolvedImage field: add it there and copy it in resolve", f.Name)
		}
	}
}

func TestLoadFindsMain(t *testing.T) {
	tests := []struct {
		name       string
		dir        func(t *testing.T) string
		wantName   string
		wantMain   string
		wantModule string
		wantVendor bool
	}{
		{"root package main", func(t *testing.T) string { return app(t, "plain") }, "plain", ".", "example.com/plain", false},
		{"single cmd", func(t *testing.T) string {
			dir := app(t, "multi")
			if err := os.RemoveAll(filepath.Join(dir, "cmd", "worker")); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "api", "./cmd/api", "example.com/multi", false},
		{"cmd dir that is not main is ignored", func(t *testing.T) string {
			return module(t, "example.com/tool", map[string]string{
				"cmd/tool/main.go":  mainGo,
				"cmd/internal/x.go": "package internal\n",
				"lib.go":            "package tool\n",
			})
		}, "tool", "./cmd/tool", "example.com/tool", false},
		{"major version suffix", func(t *testing.T) string {
			return module(t, "example.com/svc/v2", map[string]string{"main.go": mainGo})
		}, "svc", ".", "example.com/svc/v2", false},
		{"upper-case module path", func(t *testing.T) string {
			return module(t, "example.com/MyApp", map[string]string{"main.go": mainGo})
		}, "myapp", ".", "example.com/MyApp", false},
		{"main for another OS only is not main", func(t *testing.T) string {
			return module(t, "example.com/win", map[string]string{
				"main_windows.go": "package main\n\nfunc main() {}\n",
				"cmd/win/main.go": mainGo,
			})
		}, "win", "./cmd/win", "example.com/win", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			c, err := Load(Project{}, nil, dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Images) != 1 {
				t.Fatalf("got %d images, want 1", len(c.Images))
			}
			img := c.Images[0]
			got := [...]string{img.Name, img.Main, img.Module, img.Dir}
			want := [...]string{tc.wantName, tc.wantMain, tc.wantModule, dir}
			if got != want {
				t.Errorf("name, main, module, dir = %q, want %q", got, want)
			}
			if img.Vendor != tc.wantVendor {
				t.Errorf("vendor = %t, want %t", img.Vendor, tc.wantVendor)
			}
		})
	}
}

func TestLoadModuleErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  func(t *testing.T) string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"ambiguous main", func(t *testing.T) string { return app(t, "multi") }, nil,
			[]string{"ambiguous main package", "./cmd/api, ./cmd/worker", "GANTRY_MAIN"}},
		{"no main", func(t *testing.T) string {
			return module(t, "example.com/lib", map[string]string{"lib.go": "package lib\n"})
		}, nil, []string{"no main package", "GANTRY_MAIN"}},
		{"no go.mod", func(t *testing.T) string { return t.TempDir() }, nil,
			[]string{"no go.mod in ", "go mod init"}},
		{"no module line", func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("go 1.24\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, nil, []string{"has no module line", "module <path>"}},
		{"main outside the module", func(t *testing.T) string { return app(t, "plain") },
			map[string]string{"GANTRY_MAIN": "../other"}, []string{`"../other"`, "inside the module"}},
		{"main that is not main", func(t *testing.T) string { return app(t, "multi") },
			map[string]string{"GANTRY_MAIN": "."}, []string{`main package "."`, "holds no Go package main"}},
		{"invalid image name", func(t *testing.T) string { return app(t, "plain") },
			map[string]string{"GANTRY_IMAGE": "My_App!"}, []string{`"My_App!"`, "GANTRY_IMAGE=my-app"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			_, err := Load(Project{}, MapEnv(tc.env), dir)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.name == "no go.mod" && !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the directory %s", err, dir)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	plain := app(t, "plain")
	multi := app(t, "multi")
	two := Project{Images: []Image{{Main: "./cmd/api"}, {Main: "./cmd/worker"}}}
	epoch := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)

	tests := []struct {
		name string
		dir  string
		p    Project
		env  map[string]string
		get  func(c *Config) any
		want any
	}{
		{"platforms normalised", plain, Project{},
			map[string]string{"GANTRY_PLATFORMS": " linux/arm64/v8, Linux/AMD64 ,linux/arm/v7,linux/arm64,linux/amd64/v1"},
			func(c *Config) any { return c.Images[0].Platforms },
			[]v1.Platform{linux("arm64", ""), linux("amd64", ""), linux("arm", "v7")}},
		{"spaces around platforms trimmed", plain, Project{},
			map[string]string{"GANTRY_PLATFORMS": " linux/amd64 , linux/arm64"},
			func(c *Config) any { return c.Images[0].Platforms },
			[]v1.Platform{linux("amd64", ""), linux("arm64", "")}},
		{"windows platforms with a windows base", plain, Project{},
			map[string]string{"GANTRY_PLATFORMS": "linux/amd64,windows/amd64,windows/arm64", "GANTRY_BASES": "Windows=oci:nano, windows/arm64=oci:nano-arm"},
			func(c *Config) any {
				t := c.Images[0]
				var out []string
				for _, p := range t.Platforms {
					out = append(out, platformString(p)+" "+t.BaseFor(p))
				}
				return out
			},
			[]string{"linux/amd64 static", "windows/amd64 oci:nano", "windows/arm64 oci:nano-arm"}},
		{"windows from a Base index", plain, Project{Images: []Image{{Base: "registry.test/multi-os:1", Platforms: []string{"windows/amd64"}}}}, nil,
			func(c *Config) any { return c.Images[0].BaseFor(c.Images[0].Platforms[0]) },
			"registry.test/multi-os:1"},
		{"platforms as strings", plain, Project{},
			map[string]string{"GANTRY_PLATFORMS": "linux/arm64/v8.2,linux/amd64/v3"},
			func(c *Config) any { return platformStrings(c.Images[0].Platforms) },
			[]string{"linux/arm64/v8.2", "linux/amd64/v3"}},
		{"platforms override every image", multi, two,
			map[string]string{"GANTRY_PLATFORMS": "linux/riscv64"},
			func(c *Config) any {
				return [][]string{platformStrings(c.Images[0].Platforms), platformStrings(c.Images[1].Platforms)}
			},
			[][]string{{"linux/riscv64"}, {"linux/riscv64"}}},
		{"platforms override the project", plain, Project{Images: []Image{{Platforms: []string{"linux/386"}}}},
			map[string]string{"GANTRY_PLATFORMS": "linux/s390x"},
			func(c *Config) any { return platformStrings(c.Images[0].Platforms) },
			[]string{"linux/s390x"}},
		{"project platforms", plain, Project{Images: []Image{{Platforms: []string{"linux/arm/v6"}}}}, nil,
			func(c *Config) any { return c.Images[0].Platforms },
			[]v1.Platform{linux("arm", "v6")}},
		{"main picks a cmd", multi, Project{},
			map[string]string{"GANTRY_MAIN": "cmd/worker"},
			func(c *Config) any { return [2]string{c.Images[0].Name, c.Images[0].Main} },
			[2]string{"worker", "./cmd/worker"}},
		{"image names the only image", plain, Project{},
			map[string]string{"GANTRY_IMAGE": "web-frontend"},
			func(c *Config) any { return c.Images[0].Name },
			"web-frontend"},
		{"image selects among several", multi, two,
			map[string]string{"GANTRY_IMAGE": "worker"},
			func(c *Config) any { return imageNames(c) },
			[]string{"worker"}},
		{"image selects several in the given order", multi, two,
			map[string]string{"GANTRY_IMAGE": "worker, api"},
			func(c *Config) any { return imageNames(c) },
			[]string{"worker", "api"}},
		{"image selects by configured name", multi, Project{Images: []Image{{Name: "front", Main: "./cmd/api"}, {Main: "./cmd/worker"}}},
			map[string]string{"GANTRY_IMAGE": "front"},
			func(c *Config) any { return [2]string{c.Images[0].Name, c.Images[0].Main} },
			[2]string{"front", "./cmd/api"}},
		{"base", plain, Project{}, map[string]string{"GANTRY_BASE": "scratch"},
			func(c *Config) any { return c.Images[0].Base }, "scratch"},
		{"out relative to root", plain, Project{Out: "ignored"}, map[string]string{"GANTRY_OUT": "build/out"},
			func(c *Config) any { return c.Out }, filepath.Join(plain, "build", "out")},
		{"out absolute", plain, Project{}, map[string]string{"GANTRY_OUT": "/var/tmp/x/../gantry"},
			func(c *Config) any { return c.Out }, "/var/tmp/gantry"},
		{"project out relative to root", plain, Project{Out: "o"}, nil,
			func(c *Config) any { return c.Out }, filepath.Join(plain, "o")},
		{"blank value is unset where empty means none", plain, Project{}, map[string]string{"GANTRY_REPO": "  ", "GANTRY_TAGS": "", "GANTRY_ALLOW_DIRTY": ""},
			func(c *Config) any { return [3]any{c.Push.Enabled(), len(c.Tags), c.AllowDirty} },
			[3]any{false, 0, false}},
		{"index from relative to root", plain, Project{}, map[string]string{"GANTRY_INDEX_FROM": "amd64, /abs/arm64"},
			func(c *Config) any { return c.IndexFrom },
			[]string{filepath.Join(plain, "amd64"), "/abs/arm64"}},
		{"tags added to the project's", plain, Project{Tags: []string{"edge"}},
			map[string]string{"GANTRY_TAGS": "latest, stable,1.2_rc.3"},
			func(c *Config) any { return c.Tags },
			[]string{"edge", "latest", "stable", "1.2_rc.3"}},
		{"longest tag", plain, Project{}, map[string]string{"GANTRY_TAGS": strings.Repeat("t", 128)},
			func(c *Config) any { return c.Tags }, []string{strings.Repeat("t", 128)}},
		{"allow dirty", plain, Project{}, map[string]string{"GANTRY_ALLOW_DIRTY": "1"},
			func(c *Config) any { return c.AllowDirty }, true},
		{"allow dirty off overrides the project", plain, Project{AllowDirty: true}, map[string]string{"GANTRY_ALLOW_DIRTY": "false"},
			func(c *Config) any { return c.AllowDirty }, false},
		{"require vendor", plain, Project{}, map[string]string{"GANTRY_REQUIRE_VENDOR": "true"},
			func(c *Config) any { return c.RequireVendor }, true},
		{"source date epoch", plain, Project{}, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"},
			func(c *Config) any { return c.SourceDateEpoch }, &epoch},
		{"source date epoch zero", plain, Project{}, map[string]string{"SOURCE_DATE_EPOCH": "0"},
			func(c *Config) any { return c.SourceDateEpoch.Format(time.RFC3339) }, "1970-01-01T00:00:00Z"},
		{"no source date epoch", plain, Project{}, nil,
			func(c *Config) any { return c.SourceDateEpoch == nil }, true},
		{"compression zstd", plain, Project{}, map[string]string{"GANTRY_COMPRESSION": "zstd"},
			func(c *Config) any { return c.Compression }, "zstd"},
		{"compression from the project", plain, Project{Compression: "zstd"}, nil,
			func(c *Config) any { return c.Compression }, "zstd"},
		{"jobs", plain, Project{Jobs: 8}, map[string]string{"GANTRY_JOBS": " 3 "},
			func(c *Config) any { return c.Jobs }, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.p, MapEnv(tc.env), tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.get(c)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func imageNames(c *Config) []string {
	var out []string
	for _, t := range c.Images {
		out = append(out, t.Name)
	}
	return out
}

func TestLoadEnvErrors(t *testing.T) {
	plain := app(t, "plain")
	multi := app(t, "multi")
	two := Project{Images: []Image{{Main: "./cmd/api"}, {Main: "./cmd/worker"}}}
	tests := []struct {
		name string
		dir  string
		p    Project
		env  map[string]string
		want []string // substrings of the error
	}{
		{"unknown variant", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": "linux/amd64,linux/arm64/v7"},
			[]string{`"linux/arm64/v7"`, "v8.1"}},
		{"not linux or windows", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": "darwin/arm64"},
			[]string{`"darwin/arm64"`, "linux or windows"}},
		{"windows on the static base", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": "linux/amd64,windows/amd64"},
			[]string{`platform "windows/amd64" needs a Windows base, and base "static" is linux-only`, `Bases["windows"]`, "GANTRY_BASES=windows="}},
		{"windows on scratch", plain, Project{Images: []Image{{Base: "scratch", Platforms: []string{"windows/arm64"}}}}, nil,
			[]string{`platform "windows/arm64" needs a Windows base, and base "scratch" is linux-only`}},
		{"windows base only for amd64", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": "windows/amd64,windows/arm64", "GANTRY_BASES": "windows/amd64=oci:nano"},
			[]string{`platform "windows/arm64" needs a Windows base`}},
		{"bases not pairs", plain, Project{}, map[string]string{"GANTRY_BASES": "windows"},
			[]string{`GANTRY_BASES="windows": "windows" is not <os or platform>=<base>`}},
		{"bases key not a platform", plain, Project{}, map[string]string{"GANTRY_BASES": "darwin=oci:x"},
			[]string{`Bases key "darwin" is not an OS (linux, windows) or a platform`}},
		{"no arch", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": "linux"},
			[]string{`"linux"`, "os/arch[/variant]"}},
		{"main with several images", multi, two, map[string]string{"GANTRY_MAIN": "./cmd/api"},
			[]string{`GANTRY_MAIN="./cmd/api"`, "2 configured images", "GANTRY_IMAGE"}},
		{"image not configured", multi, two, map[string]string{"GANTRY_IMAGE": "api,nope"},
			[]string{`"nope"`, "configured: api, worker"}},
		{"tag starting with a dash", plain, Project{}, map[string]string{"GANTRY_TAGS": "ok,-bad"},
			[]string{`tag "-bad"`}},
		{"tag starting with a dot", plain, Project{}, map[string]string{"GANTRY_TAGS": ".bad"},
			[]string{`tag ".bad"`}},
		{"tag with a slash", plain, Project{}, map[string]string{"GANTRY_TAGS": "feature/x"},
			[]string{`tag "feature/x"`}},
		{"tag too long", plain, Project{}, map[string]string{"GANTRY_TAGS": strings.Repeat("t", 129)},
			[]string{"at most 128"}},
		{"project tag", plain, Project{Tags: []string{"a b"}}, nil,
			[]string{`tag "a b"`}},
		{"allow dirty not a bool", plain, Project{}, map[string]string{"GANTRY_ALLOW_DIRTY": "yes"},
			[]string{`GANTRY_ALLOW_DIRTY="yes" is not a boolean`, "1 or 0"}},
		{"require vendor not a bool", plain, Project{}, map[string]string{"GANTRY_REQUIRE_VENDOR": "on"},
			[]string{`GANTRY_REQUIRE_VENDOR="on"`}},
		{"epoch not a number", plain, Project{}, map[string]string{"SOURCE_DATE_EPOCH": "2024-01-01"},
			[]string{`SOURCE_DATE_EPOCH="2024-01-01"`, "Unix time in seconds"}},
		{"epoch negative", plain, Project{}, map[string]string{"SOURCE_DATE_EPOCH": "-1"},
			[]string{`SOURCE_DATE_EPOCH="-1"`}},
		{"epoch fractional", plain, Project{}, map[string]string{"SOURCE_DATE_EPOCH": "1700000000.5"},
			[]string{`SOURCE_DATE_EPOCH="1700000000.5"`}},
		{"compression", plain, Project{}, map[string]string{"GANTRY_COMPRESSION": "xz"},
			[]string{`compression "xz"`, "gzip or zstd"}},
		{"compression upper case", plain, Project{Compression: "GZIP"}, nil,
			[]string{`compression "GZIP"`}},
		{"jobs zero", plain, Project{}, map[string]string{"GANTRY_JOBS": "0"},
			[]string{`GANTRY_JOBS="0" is not a positive number`}},
		{"jobs not a number", plain, Project{}, map[string]string{"GANTRY_JOBS": "four"},
			[]string{`GANTRY_JOBS="four"`}},
		{"relative bin dir", plain, Project{Images: []Image{{BinDir: "bin"}}}, nil,
			[]string{`"bin"`, "absolute path"}},
		// Values that used to be dropped or ignored, building what nobody asked for.
		{"trailing comma in platforms", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": "linux/amd64,"},
			[]string{`GANTRY_PLATFORMS="linux/amd64,"`, "element 2 is empty", "single commas"}},
		{"double comma in platforms", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": "linux/amd64,,linux/arm64"},
			[]string{"element 2 is empty"}},
		{"empty platforms", plain, Project{}, map[string]string{"GANTRY_PLATFORMS": ""},
			[]string{"GANTRY_PLATFORMS is set but empty", "unset it to get the default", "linux/amd64,linux/arm64"}},
		{"blank out", plain, Project{}, map[string]string{"GANTRY_OUT": "  "},
			[]string{"GANTRY_OUT is set but empty"}},
		{"empty compression", plain, Project{}, map[string]string{"GANTRY_COMPRESSION": ""},
			[]string{"GANTRY_COMPRESSION is set but empty"}},
		{"empty tag element", plain, Project{}, map[string]string{"GANTRY_TAGS": "latest, stable,,1.2"},
			[]string{`GANTRY_TAGS="latest, stable,,1.2"`, "element 3 is empty"}},
		{"empty index-from element", plain, Project{}, map[string]string{"GANTRY_INDEX_FROM": "amd64,"},
			[]string{"GANTRY_INDEX_FROM", "element 2 is empty"}},
		{"empty image element", multi, two, map[string]string{"GANTRY_IMAGE": "api,"},
			[]string{"GANTRY_IMAGE", "element 2 is empty"}},
		{"empty repo element", plain, Project{}, map[string]string{"GANTRY_REPO": ",127.0.0.1:5000/app"},
			[]string{"GANTRY_REPO", "element 1 is empty"}},
		{"epoch past year 9999", plain, Project{}, map[string]string{"SOURCE_DATE_EPOCH": "99999999999999"},
			[]string{`SOURCE_DATE_EPOCH="99999999999999"`, "after the year 9999"}},
		{"epoch one second past year 9999", plain, Project{}, map[string]string{"SOURCE_DATE_EPOCH": "253402300800"},
			[]string{"after the year 9999"}},
		{"base a bare word", plain, Project{}, map[string]string{"GANTRY_BASE": "statc"},
			[]string{`Base "statc" is not a known base name`, "docker.io/library/statc", "GANTRY_BASE"}},
		{"base not a reference", plain, Project{}, map[string]string{"GANTRY_BASE": "registry.example/App:Bad Tag"},
			[]string{`Base "registry.example/App:Bad Tag" is not a valid image reference`, "GANTRY_BASE"}},
		{"base oci without dir", plain, Project{}, map[string]string{"GANTRY_BASE": "oci:"},
			[]string{"missing the OCI layout directory", "GANTRY_BASE"}},
		{"bases value not a reference", plain, Project{Images: []Image{{Bases: map[string]string{"windows": "nanosrv"}}}}, nil,
			[]string{`Bases["windows"] "nanosrv" is not a known base name`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.p, MapEnv(tc.env), tc.dir)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadDuplicateNames(t *testing.T) {
	multi := app(t, "multi")
	tests := []struct {
		name   string
		images []Image
		want   string
	}{
		{"same main twice", []Image{{Main: "./cmd/api"}, {Main: "cmd/api"}}, `two images are named "api"`},
		{"same explicit name", []Image{{Name: "svc", Main: "./cmd/api"}, {Name: "svc", Main: "./cmd/worker"}}, `two images are named "svc"`},
		{"explicit name equal to a derived one", []Image{{Main: "./cmd/api"}, {Name: "api", Main: "./cmd/worker"}}, `two images are named "api"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(Project{Images: tc.images}, nil, multi)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: err = %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "own Name") {
				t.Errorf("error %q does not say how to fix it", err)
			}
		})
	}
}

// TestLoadLeavesProjectAlone checks that Load does not write through the
// slices of the Project it is given (a magefile's registered value is
// loaded again by every mage run in the same process, e.g. in tests).
func TestLoadLeavesProjectAlone(t *testing.T) {
	plain := app(t, "plain")
	tags := make([]string, 1, 4)
	tags[0] = "edge"
	p := Project{
		IndexFrom: []string{"amd64", "arm64"},
		Tags:      tags,
		Images:    []Image{{Platforms: []string{"linux/arm64/v8"}}},
	}
	env := MapEnv(map[string]string{"GANTRY_TAGS": "latest"})
	if _, err := Load(p, env, plain); err != nil {
		t.Fatal(err)
	}
	want := Project{
		IndexFrom: []string{"amd64", "arm64"},
		Tags:      []string{"edge"},
		Images:    []Image{{Platforms: []string{"linux/arm64/v8"}}},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Load changed its Project argument (-want +got):\n%s", diff)
	}
	if got := tags[:2][1]; got != "" {
		t.Errorf("Load wrote %q into the spare capacity of Project.Tags", got)
	}
}

func TestLastElem(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com/hello", "hello"},
		{"example.com/svc/v2", "svc"},
		{"example.com/svc/v10", "svc"},
		{"example.com/org/vault", "vault"},   // starts with v, not a version
		{"example.com/org/v2beta", "v2beta"}, // not a major version suffix
		{"example.com/org/v", "v"},
		{"v2", "v2"}, // a single element is kept
		{"hello", "hello"},
		{"./cmd/api", "api"},
		{"./cmd/api/", "api"},
		{"cmd/api", "api"},
		{"./cmd/api/v3", "api"},
		{".", ""},
		{"./", ""},
		{"gopkg.in/yaml.v3", "yaml.v3"},
	}
	for _, tt := range tests {
		if got := lastElem(tt.in); got != tt.want {
			t.Errorf("lastElem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrintListsEveryVar(t *testing.T) {
	plain := app(t, "plain")
	env := MapEnv(map[string]string{"GANTRY_JOBS": "3", "GANTRY_TAGS": "edge"})
	c, err := Load(Project{}, env, plain)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Print(&buf, c, env); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := map[string]string{} // variable name → its line
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines[f[0]] = line
		}
	}
	for _, v := range Vars() {
		line, ok := lines[v.Name]
		if !ok {
			t.Errorf("Print lists no line for %s; output:\n%s", v.Name, out)
			continue
		}
		if !strings.Contains(line, v.Description) {
			t.Errorf("%s line %q lacks its description %q", v.Name, line, v.Description)
		}
		want := "(unset)"
		switch v.Name {
		case "GANTRY_JOBS":
			want = "3"
		case "GANTRY_TAGS":
			want = "edge"
		}
		if f := strings.Fields(line); f[1] != want {
			t.Errorf("%s value = %q, want %q", v.Name, f[1], want)
		}
	}
	for key, want := range map[string]string{
		"image":     "image plain",
		"module":    "example.com/plain (" + plain + ")",
		"binary":    "/usr/local/bin/plain",
		"platforms": "linux/amd64, linux/arm64",
		"extra":     "edge",
		"created":   "commit time",
	} {
		if !strings.Contains(lines[key], want) {
			t.Errorf("Print line %q = %q, want it to contain %q", key, lines[key], want)
		}
	}
}

func TestValuesRedactsSecrets(t *testing.T) {
	saved := vars
	t.Cleanup(func() { vars = saved })
	vars = append(Vars(), Var{Name: "GANTRY_TEST_TOKEN", Description: "a secret", Secret: true})

	got := MapEnv(map[string]string{"GANTRY_TEST_TOKEN": "hunter2", "GANTRY_OUT": " out ", "UNRELATED": "x"}).Values()
	want := map[string]string{"GANTRY_TEST_TOKEN": "(set)", "GANTRY_OUT": "out"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Values() mismatch (-want +got):\n%s", diff)
	}
}

func TestVarsDeclaredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars() {
		if seen[v.Name] {
			t.Errorf("%s is declared twice", v.Name)
		}
		seen[v.Name] = true
		if v.Description == "" {
			t.Errorf("%s has no description", v.Name)
		}
	}
}

func TestLookupUndeclaredPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("looking up an undeclared variable did not panic")
		}
	}()
	MapEnv(nil).lookup("GANTRY_NOT_DECLARED")
}

func platformString(p v1.Platform) string { return p.OS + "/" + p.Architecture }

// TestWindowsDropsLinuxDefaults: the linux defaults of BinDir and User mean
// nothing on Windows (C:\app and the base's user instead); configured
// values stay.
func TestWindowsDropsLinuxDefaults(t *testing.T) {
	win := v1.Platform{OS: "windows", Architecture: "amd64"}
	for _, tc := range []struct {
		name             string
		binDir, user     string
		p                v1.Platform
		wantDir, wantUsr string
	}{
		{"linux keeps defaults", DefaultBinDir, DefaultUser, linux("amd64", ""), DefaultBinDir, DefaultUser},
		{"windows drops defaults", DefaultBinDir, DefaultUser, win, "", ""},
		{"windows keeps configured", `C:\tools`, "ContainerUser", win, `C:\tools`, "ContainerUser"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := ResolvedImage{BinDir: tc.binDir, User: tc.user}
			if got := img.BinDirFor(tc.p); got != tc.wantDir {
				t.Errorf("BinDirFor = %q, want %q", got, tc.wantDir)
			}
			if got := img.UserFor(tc.p); got != tc.wantUsr {
				t.Errorf("UserFor = %q, want %q", got, tc.wantUsr)
			}
		})
	}
}
