//go:build mage

// The kit's own magefile: it dogfoods Gantry's targets on the example app in
// testdata/hello, so `go tool mage release` in a fresh clone shows the main
// job working.
package main

import (
	"github.com/gantrybuild/gantry/targets"
	"github.com/gantrybuild/gantry/targets/config"

	//mage:import
	_ "github.com/gantrybuild/gantry/targets"
)

func init() {
	targets.Configure(config.Project{
		Images: []config.Image{{Dir: "testdata/hello"}},
	})
}
