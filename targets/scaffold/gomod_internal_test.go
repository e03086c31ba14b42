package scaffold

import (
	"strings"
	"testing"
)

// TestBuildListChange: init keeps mage's tool directive only when nothing
// else of go.mod or go.sum moved, and names what did.
func TestBuildListChange(t *testing.T) {
	const before = "module example.com/app\n\ngo 1.24.0\n\nrequire golang.org/x/sys v0.38.0\n"
	tests := []struct {
		name, after, want string
	}{
		{"mage only", before + "\nrequire github.com/magefile/mage v1.17.2 // indirect\n\ntool github.com/magefile/mage\n", ""},
		{"go line raised", strings.Replace(before, "go 1.24.0", "go 1.26.0", 1) + "\ntool github.com/magefile/mage\n", "the go line (1.24.0 to 1.26.0)"},
		{"toolchain added", before + "\ntoolchain go1.26.1\n", "the toolchain line"},
		{"a requirement moved", strings.Replace(before, "v0.38.0", "v0.47.0", 1), "golang.org/x/sys v0.38.0 => v0.47.0"},
		{"a requirement added", before + "\nrequire github.com/gantrybuild/gantry v0.4.0\n", "github.com/gantrybuild/gantry  => v0.4.0"},
		{"a requirement dropped", "module example.com/app\n\ngo 1.24.0\n", "golang.org/x/sys dropped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := buildListChange([]byte(before), []byte(tc.after))
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("buildListChange = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSumChange(t *testing.T) {
	const before = "golang.org/x/sys v0.38.0 h1:a=\ngolang.org/x/sys v0.38.0/go.mod h1:b=\n"
	mage := "github.com/magefile/mage v1.17.2 h1:c=\ngithub.com/magefile/mage v1.17.2/go.mod h1:d=\n"
	tests := []struct {
		name, after, want string
	}{
		{"mage's lines only", before + mage, ""},
		{"another module's line added", before + mage + "golang.org/x/text v0.34.0/go.mod h1:e=\n", "go.sum (golang.org/x/text)"},
		{"a line removed", mage, "go.sum (golang.org/x/sys)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sumChange([]byte(before), []byte(tc.after)); got != tc.want {
				t.Errorf("sumChange = %q, want %q", got, tc.want)
			}
		})
	}
}
