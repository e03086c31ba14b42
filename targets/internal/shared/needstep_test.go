package shared

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestForUser(t *testing.T) {
	noIndex := &NeedStep{Err: errors.New("nothing to sign in dist/oci/app"), Fix: "run {index} (or {release}) first"}
	noBinary := &NeedStep{Err: fmt.Errorf("no binary at dist/bin/app: %w", fs.ErrNotExist), Fix: "run {compile:all} (or {compile:platform linux/arm64}) first"}
	noKey := &NeedStep{Fix: "generate a pair with {keygen}"}
	tests := []struct {
		name string
		err  error
		mage string
		bare string // err.Error()
		want string // ForUser(err, mage).Error()
	}{
		{"plain error", errors.New("boom"), "go tool mage", "boom", "boom"},
		{"one step", noIndex, "go tool mage",
			"nothing to sign in dist/oci/app: run index (or release) first",
			"nothing to sign in dist/oci/app: run `go tool mage index` (or `go tool mage release`) first"},
		{"wrapped, nested module", fmt.Errorf("image app: %w", noIndex), "go -C magefiles tool mage -w ..",
			"image app: nothing to sign in dist/oci/app: run index (or release) first",
			"image app: nothing to sign in dist/oci/app: run `go -C magefiles tool mage -w .. index` (or `go -C magefiles tool mage -w .. release`) first"},
		{"step with an argument", noBinary, "go tool mage",
			"no binary at dist/bin/app: file does not exist: run compile:all (or compile:platform linux/arm64) first",
			"no binary at dist/bin/app: file does not exist: run `go tool mage compile:all` (or `go tool mage compile:platform linux/arm64`) first"},
		{"no cause", noKey, "go tool mage", "generate a pair with keygen", "generate a pair with `go tool mage keygen`"},
		{"joined", errors.Join(fmt.Errorf("image a: %w", noIndex), fmt.Errorf("image b: %w", noKey)), "go tool mage",
			"image a: nothing to sign in dist/oci/app: run index (or release) first\nimage b: generate a pair with keygen",
			"image a: nothing to sign in dist/oci/app: run `go tool mage index` (or `go tool mage release`) first\nimage b: generate a pair with `go tool mage keygen`"},
		{"braces in values stay", &NeedStep{Err: errors.New("tag {x}"), Fix: "run {index} first"}, "go tool mage",
			"tag {x}: run index first", "tag {x}: run `go tool mage index` first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.bare {
				t.Errorf("Error() = %q, want %q", got, tc.bare)
			}
			got := ForUser(tc.err, tc.mage)
			if got.Error() != tc.want {
				t.Errorf("ForUser(…).Error() = %q, want %q", got.Error(), tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("ForUser(…) does not wrap the error")
			}
		})
	}
	if ForUser(nil, "go tool mage") != nil {
		t.Errorf("ForUser(nil) is not nil")
	}
	var ns *NeedStep
	if !errors.As(ForUser(fmt.Errorf("x: %w", noBinary), "go tool mage"), &ns) || ns != noBinary || !errors.Is(ns, fs.ErrNotExist) {
		t.Errorf("errors.As through ForUser does not find the NeedStep and its cause")
	}
}
