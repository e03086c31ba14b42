package platform

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func plat(arch, variant string) v1.Platform {
	return v1.Platform{OS: "linux", Architecture: arch, Variant: variant}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want v1.Platform
	}{
		{"linux/amd64", plat("amd64", "")},
		{"linux/amd64/v1", plat("amd64", "")},
		{"linux/amd64/v2", plat("amd64", "v2")},
		{"linux/amd64/v3", plat("amd64", "v3")},
		{"linux/amd64/v4", plat("amd64", "v4")},
		{"linux/arm64", plat("arm64", "")},
		{"linux/arm64/v8", plat("arm64", "")},
		{"linux/arm64/v8.0", plat("arm64", "")},
		{"linux/arm64/v8.1", plat("arm64", "v8.1")},
		{"linux/arm64/v8.9", plat("arm64", "v8.9")},
		{"linux/arm64/v9.0", plat("arm64", "v9.0")},
		{"linux/arm64/v9.5", plat("arm64", "v9.5")},
		{"linux/arm", plat("arm", "v7")},
		{"linux/arm/v5", plat("arm", "v5")},
		{"linux/arm/v6", plat("arm", "v6")},
		{"linux/arm/v7", plat("arm", "v7")},
		{"linux/386", plat("386", "")},
		{"linux/riscv64", plat("riscv64", "")},
		{"linux/s390x", plat("s390x", "")},
		{"  Linux/ARM/V7 ", plat("arm", "v7")},
		// Parse checks syntax only; Check rejects this one.
		{"linux/amd65", plat("amd65", "")},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		// Every accepted form round-trips through its canonical string.
		back, err := Parse(String(got))
		if err != nil {
			t.Errorf("Parse(String(%q)) = %q: %v", tt.in, String(got), err)
			continue
		}
		if diff := cmp.Diff(got, back); diff != "" {
			t.Errorf("Parse(String(%q)) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // substring of the error
	}{
		{"", `platform "": want os/arch[/variant]`},
		{"linux", `platform "linux": want os/arch[/variant]`},
		{"linux/", `want os/arch[/variant]`},
		{"/amd64", `want os/arch[/variant]`},
		{"linux/arm/v7/x", `want os/arch[/variant]`},
		{"linux/arm64/", `want os/arch[/variant]`},
		{"linux/ amd64", `want os/arch[/variant]`},
		{"darwin/arm64", `platform "darwin/arm64": images are linux or windows, not "darwin": use "linux/arm64"`},
		{"windows/386", `platform "windows/386": windows images are amd64 or arm64`},
		{"windows/arm/v7", `windows images are amd64 or arm64`},
		{"linux/amd64/v5", `platform "linux/amd64/v5": unknown amd64 variant "v5" (valid: v1, v2, v3, v4)`},
		{"linux/arm/v8", `unknown arm variant "v8" (valid: v5, v6, v7)`},
		{"linux/arm/7", `unknown arm variant "7" (valid: v5, v6, v7)`},
		{"linux/arm64/v9", `unknown arm64 variant "v9" (valid: v8, v8.0, v8.1, v8.2, v8.3, v8.4, v8.5, v8.6, v8.7, v8.8, v8.9, v9.0, v9.1, v9.2, v9.3, v9.4, v9.5)`},
		{"linux/arm64/v9.6", `unknown arm64 variant "v9.6"`},
		{"linux/386/sse2", `platform "linux/386/sse2": linux/386 takes no variant, not "sse2": use "linux/386"`},
		{"linux/riscv64/rva22u64", `linux/riscv64 takes no variant`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	got, err := Normalize(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8", OSVersion: "x", Features: []string{"f"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plat("arm64", ""), got); diff != "" {
		t.Errorf("Normalize mismatch (-want +got):\n%s", diff)
	}
	if _, err := Normalize(v1.Platform{OS: "linux"}); err == nil {
		t.Error("Normalize with no architecture: got nil error")
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		in   string
		want []v1.Platform
	}{
		{"linux/amd64", []v1.Platform{plat("amd64", "")}},
		{" linux/arm64 , linux/amd64,linux/arm/v7 ", []v1.Platform{plat("arm64", ""), plat("amd64", ""), plat("arm", "v7")}},
		{"linux/arm64,linux/arm64/v8,linux/amd64/v1,linux/amd64", []v1.Platform{plat("arm64", ""), plat("amd64", "")}},
		{"linux/amd64/v3,linux/amd64", []v1.Platform{plat("amd64", "v3"), plat("amd64", "")}},
	}
	for _, tt := range tests {
		got, err := ParseList(tt.in)
		if err != nil {
			t.Errorf("ParseList(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseList(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseListErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", `platform list "": element 1 is empty`},
		{"linux/amd64,,linux/arm64", `platform list "linux/amd64,,linux/arm64": element 2 is empty`},
		{"linux/amd64,", `element 2 is empty`},
		{"linux/amd64,darwin/arm64", `platform "darwin/arm64": images are linux or windows`},
	}
	for _, tt := range tests {
		_, err := ParseList(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseList(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		in                   string
		str, suffix, fileSfx string
	}{
		{"linux/amd64", "linux/amd64", "amd64", "linux_amd64"},
		{"linux/amd64/v3", "linux/amd64/v3", "amd64v3", "linux_amd64_v3"},
		{"linux/arm64/v8", "linux/arm64", "arm64", "linux_arm64"},
		{"linux/arm64/v8.2", "linux/arm64/v8.2", "arm64v8.2", "linux_arm64_v8.2"},
		{"linux/arm", "linux/arm/v7", "armv7", "linux_arm_v7"},
		{"linux/arm/v7", "linux/arm/v7", "armv7", "linux_arm_v7"},
		{"linux/386", "linux/386", "386", "linux_386"},
		{"windows/amd64", "windows/amd64", "windows-amd64", "windows_amd64"},
		{"Windows/ARM64/v8", "windows/arm64", "windows-arm64", "windows_arm64"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{String(p), Suffix(p), FileSuffix(p)}
		want := []string{tt.str, tt.suffix, tt.fileSfx}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("String, Suffix, FileSuffix of %q mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestGoEnv(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"linux/amd64", []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"}},
		{"linux/amd64/v1", []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"}},
		{"linux/amd64/v2", []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v2"}},
		{"linux/amd64/v3", []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3"}},
		{"linux/amd64/v4", []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v4"}},
		{"linux/arm64", []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0"}},
		{"linux/arm64/v8", []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0"}},
		{"linux/arm64/v8.1", []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.1"}},
		{"linux/arm64/v9.5", []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v9.5"}},
		{"linux/arm", []string{"GOOS=linux", "GOARCH=arm", "GOARM=7"}},
		{"linux/arm/v5", []string{"GOOS=linux", "GOARCH=arm", "GOARM=5"}},
		{"linux/arm/v6", []string{"GOOS=linux", "GOARCH=arm", "GOARM=6"}},
		{"linux/arm/v7", []string{"GOOS=linux", "GOARCH=arm", "GOARM=7"}},
		{"linux/386", []string{"GOOS=linux", "GOARCH=386"}},
		{"linux/ppc64le", []string{"GOOS=linux", "GOARCH=ppc64le"}},
		{"windows/amd64", []string{"GOOS=windows", "GOARCH=amd64", "GOAMD64=v1"}},
		{"windows/arm64", []string{"GOOS=windows", "GOARCH=arm64", "GOARM64=v8.0"}},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, GoEnv(p)); diff != "" {
			t.Errorf("GoEnv(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	// A platform that skipped Normalize still gets Go's spelling.
	if diff := cmp.Diff([]string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0"}, GoEnv(plat("arm64", "v8"))); diff != "" {
		t.Errorf("GoEnv(linux/arm64/v8 unnormalised) mismatch (-want +got):\n%s", diff)
	}
}

func TestCheck(t *testing.T) {
	supported := []v1.Platform{plat("386", ""), plat("amd64", ""), plat("arm64", "")}
	for _, ok := range []string{"linux/amd64", "linux/amd64/v3", "linux/arm64/v8.2"} {
		p, err := Parse(ok)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(p, supported); err != nil {
			t.Errorf("Check(%q): %v", ok, err)
		}
	}
	err := Check(plat("amd65", ""), supported)
	want := `platform "linux/amd65" is not supported by ` + runtime.Version() + ` (valid: linux/386, linux/amd64, linux/arm64)`
	if err == nil || err.Error() != want {
		t.Errorf("Check(linux/amd65) error = %v, want %q", err, want)
	}
}

func TestSupported(t *testing.T) {
	got, err := Supported(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	win := func(arch string) v1.Platform { return v1.Platform{OS: "windows", Architecture: arch} }
	for _, want := range []v1.Platform{plat("amd64", ""), plat("arm64", ""), plat("arm", ""), plat("riscv64", ""), win("amd64"), win("arm64")} {
		if err := Check(want, got); err != nil {
			t.Error(err)
		}
	}
	for _, p := range got {
		if _, err := Normalize(p); err != nil || p.Variant != "" {
			t.Errorf("Supported returned %q, want linux or windows/amd64, windows/arm64 pairs without variants", String(p))
		}
	}
	if _, err := Supported(context.Background(), "/nonexistent/go"); err == nil {
		t.Error("Supported with a missing go command: got nil error")
	}
}

// TestGoEnvAcceptedByToolchain guards the arm64 variant list: go env
// validates GOARM64 (not GOAMD64 or GOARM, which only the compiler checks).
func TestGoEnvAcceptedByToolchain(t *testing.T) {
	lvl, _ := levelOf("arm64")
	for _, v := range lvl.valid() {
		p, err := Normalize(plat("arm64", v))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "env", "GOARM64")
		cmd.Env = append(os.Environ(), GoEnv(p)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("go env with %q: %v: %s", GoEnv(p), err, out)
		}
	}
}

func TestExe(t *testing.T) {
	for in, want := range map[string]string{"linux/amd64": "", "windows/amd64": ".exe", "windows/arm64": ".exe"} {
		p, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Exe(p); got != want {
			t.Errorf("Exe(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestFirstClassWindows(t *testing.T) {
	for in, want := range map[string]bool{"windows/amd64": true, "windows/arm64": true, "linux/386": true, "linux/riscv64": false} {
		p, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := FirstClass(p); got != want {
			t.Errorf("FirstClass(%s) = %v, want %v", in, got, want)
		}
	}
}
