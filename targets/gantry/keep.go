//go:build gantry_engine

// This file is never compiled (no build sets the tag). `go mod tidy` reads
// every file whatever its tags, so these imports keep the modules and
// checksums of Gantry's engine in the go.mod and go.sum of every module
// that imports this package (a consumer's magefiles/go.mod): the engine is
// built from exactly the versions pinned there.

package gantry

import (
	_ "github.com/gantrybuild/gantry/targets"
	_ "github.com/gantrybuild/gantry/targets/setup"
)
