package compile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckGOFLAGSAccepts(t *testing.T) {
	for _, goflags := range []string{
		"",
		"  ",
		"-buildvcs=false",
		"-buildvcs=true -trimpath=false", // Gantry's command line overrides both
		"-mod=mod -modfile=tools.mod",
		"-mod=vendor",
		"-race=false --msan=0 -cover=false -linkshared=false -n=false",
		"-buildmode=pie",
		"--buildmode=exe",
		"-buildmode=default",
		"-compiler=gc",
		"-ldflags= -gcflags= -tags= -toolexec= -overlay=",
		"-a -p=4 -v -x -work -pgo=off -modcacherw",
		`'-pgo=my profile.pprof'`,
	} {
		if err := CheckGOFLAGS(goflags); err != nil {
			t.Errorf("CheckGOFLAGS(%q): %v", goflags, err)
		}
	}
}

func TestCheckGOFLAGSRefuses(t *testing.T) {
	tests := []struct {
		goflags string
		want    string // substring of the error
	}{
		{"-toolexec=/usr/bin/time", "GOFLAGS contains -toolexec=/usr/bin/time, which runs a program around every compiler and linker call"},
		{"-overlay=overlay.json", "GOFLAGS contains -overlay=overlay.json, which replaces source files"},
		{"-race", "GOFLAGS contains -race, which instruments the binary for testing and needs cgo (Gantry builds with CGO_ENABLED=0): remove it from GOFLAGS"},
		{"--race", "GOFLAGS contains --race, which instruments"},
		{"-race=true", "GOFLAGS contains -race=true, which instruments"},
		{"-msan", "-msan, which instruments"},
		{"-asan", "-asan, which instruments"},
		{"-cover", "-cover, which instruments the binary for coverage"},
		{"-coverpkg=./...", "-coverpkg=./..., which turns on coverage"},
		{"-covermode=atomic", "-covermode=atomic, which turns on coverage"},
		{"-linkshared", "-linkshared, which links against Go shared libraries"},
		{"-buildmode=c-shared", "-buildmode=c-shared, which does not build a standalone executable (valid: default, exe, pie)"},
		{"-buildmode=plugin", "-buildmode=plugin, which does not build"},
		{"-compiler=gccgo", "-compiler=gccgo, which selects a compiler other than gc"},
		{"-n", "-n, which prints the build commands without running them"},
		{"-ldflags=-X=main.version=1", "-ldflags=-X=main.version=1, which Gantry's own -ldflags replaces, so it would be silently ignored: move the linker flags to Gantry's ldflags setting"},
		{`"-ldflags=-s -w"`, "GOFLAGS contains -ldflags=-s -w, which Gantry's own -ldflags replaces"},
		{"-gcflags=all=-N", "-gcflags=all=-N, which changes the generated code"},
		{"-asmflags=-D=X", "-asmflags=-D=X, which changes the generated code"},
		{"-tags=netgo", "-tags=netgo, which sets build tags from outside the project's configuration"},
		{"-race=maybe", "-race=maybe, which instruments"},
		{`"-ldflags=-s`, `GOFLAGS "\"-ldflags=-s": unterminated " string: fix the quoting`},
	}
	for _, tt := range tests {
		err := CheckGOFLAGS(tt.goflags)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckGOFLAGS(%q) error = %v, want it to contain %q", tt.goflags, err, tt.want)
		}
	}
}

func TestCheckGOFLAGSReportsEveryFlag(t *testing.T) {
	err := CheckGOFLAGS("-race -mod=mod -toolexec=x")
	if err == nil {
		t.Fatal("CheckGOFLAGS: got nil error")
	}
	var got []string
	for line := range strings.Lines(err.Error()) {
		flag, _, _ := strings.Cut(strings.TrimPrefix(line, "GOFLAGS contains "), ",")
		got = append(got, flag)
	}
	if diff := cmp.Diff([]string{"-race", "-toolexec=x"}, got); diff != "" {
		t.Errorf("flags named in the error mismatch (-want +got):\n%s", diff)
	}
}

func TestSplitQuoted(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" -a  -b=c\t-d ", []string{"-a", "-b=c", "-d"}},
		{`'-ldflags=-s -w' "-tags=a b"`, []string{"-ldflags=-s -w", "-tags=a b"}},
		{`-x='a b'`, []string{`-x='a`, `b'`}}, // quotes count only around a whole field
	}
	for _, tt := range tests {
		got, err := splitQuoted(tt.in)
		if err != nil {
			t.Errorf("splitQuoted(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("splitQuoted(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
