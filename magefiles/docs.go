//go:build mage

package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/gantrybuild/gantry/scripts/refdoc"
)

// Regenerate docs/reference.md from the code.
//
// Targets, configuration fields and environment variables, as the code
// declares them; a test fails when the checked-in file is stale.
func Docs() error {
	b, err := refdoc.Generate(".")
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(refdoc.Path); err == nil && bytes.Equal(old, b) {
		fmt.Printf("%s is current\n", refdoc.Path)
		return nil
	}
	if err := os.WriteFile(refdoc.Path, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", refdoc.Path)
	return nil
}
