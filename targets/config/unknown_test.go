package config

import (
	"strings"
	"testing"
)

// TestCheckEnvironUnknown replays misspelled variables that used to be
// ignored (the defaults built): each fails naming the closest known one.
func TestCheckEnvironUnknown(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string // substrings of the error; nil: no error
	}{
		{"known only", []string{"GANTRY_PLATFORMS=linux/arm64", "GANTRY_OUT=dist", "HOME=/root", "PATH=/bin"}, nil},
		{"missing s", []string{"GANTRY_PLATFORM=linux/arm64"},
			[]string{"unknown variable GANTRY_PLATFORM (did you mean GANTRY_PLATFORMS?)", "Gantry reads only the variables config lists", "GANTRY_ALLOW_UNKNOWN_VARS=GANTRY_PLATFORM"}},
		{"transposed", []string{"GANTRY_ALOLW_DIRTY=1"}, []string{"did you mean GANTRY_ALLOW_DIRTY?"}},
		{"lower case", []string{"gantry_repo=ghcr.io/org/app"}, []string{"unknown variable gantry_repo (did you mean GANTRY_REPO?)"}},
		{"nothing close", []string{"GANTRY_COMPLETELY_DIFFERENT_THING=1"}, []string{"unknown variable GANTRY_COMPLETELY_DIFFERENT_THING:"}},
		{"several, one line", []string{"GANTRY_REPOS=x", "GANTRY_TAG=y"},
			[]string{"GANTRY_REPOS (did you mean GANTRY_REPO?); unknown variable GANTRY_TAG (did you mean GANTRY_TAGS?)"}},
		{"value never printed", []string{"GANTRY_REGISTRY_PASSWROD=hunter2"}, []string{"did you mean GANTRY_REGISTRY_PASSWORD?"}},
		{"allowed by name", []string{"GANTRY_TOOLS=/opt", "GANTRY_ALLOW_UNKNOWN_VARS=GANTRY_TOOLS"}, nil},
		{"allowed by prefix", []string{"GANTRY_CI_A=1", "GANTRY_CI_B=2", "GANTRY_ALLOW_UNKNOWN_VARS=GANTRY_TOOLS, GANTRY_CI_*"}, nil},
		{"allow list covers only what it names", []string{"GANTRY_TOOLS=/opt", "GANTRY_PLATFORM=x", "GANTRY_ALLOW_UNKNOWN_VARS=GANTRY_TOOLS"},
			[]string{"GANTRY_PLATFORM (did you mean GANTRY_PLATFORMS?)"}},
		{"empty allow element", []string{"GANTRY_ALLOW_UNKNOWN_VARS=GANTRY_TOOLS,"}, []string{"GANTRY_ALLOW_UNKNOWN_VARS=", "element 2 is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEnviron(tc.environ)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckEnviron: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckEnviron accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error prints a value or is not one line: %q", err)
			}
		})
	}
}

func TestEpochRange(t *testing.T) {
	for _, v := range []string{"0", "1700000000", "253402300799"} {
		if _, err := parseEpoch(v); err != nil {
			t.Errorf("SOURCE_DATE_EPOCH=%s: %v", v, err)
		}
	}
}
