package ocidir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoLayout is returned when a directory that should hold an OCI layout
// has no oci-layout file (nothing was built there yet).
var ErrNoLayout = errors.New("no OCI image layout")

// Exists checks that dir is an OCI layout (has its oci-layout file) without
// creating anything, as Open would. The error wraps ErrNoLayout when it is
// not one; callers add what to do about it.
func Exists(dir string) error {
	_, err := os.Stat(filepath.Join(dir, layoutFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w at %s (no oci-layout file)", ErrNoLayout, dir)
	}
	if err != nil {
		return fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	return nil
}

// IsLayout reports whether dir holds an OCI layout.
func IsLayout(dir string) bool { return Exists(dir) == nil }
