//go:build mage

package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/gantrybuild/gantry/scripts/refdoc"
	"github.com/gantrybuild/gantry/scripts/wrapper"
)

// Regenerate docs/reference.md and the generated targets from the code.
//
// The reference lists targets, configuration fields and environment
// variables as the code declares them; magefiles/gantry.go and
// templates/gantry.go.tmpl hold one mage target per engine target. Tests
// fail when a checked-in copy is stale.
func Docs() error {
	ref, err := refdoc.Generate(".")
	if err != nil {
		return err
	}
	if err := update(refdoc.Path, ref); err != nil {
		return err
	}
	w, err := wrapper.Generate(".")
	if err != nil {
		return err
	}
	for _, p := range wrapper.Paths {
		if err := update(p, w); err != nil {
			return err
		}
	}
	return nil
}

func update(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		fmt.Printf("%s is current\n", path)
		return nil
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", path)
	return nil
}
