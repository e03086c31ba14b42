//go:build mage

// Gantry's own magefile: its targets, run on the example app testdata/hello.
package main

import (
	"github.com/gantrybuild/gantry/targets"
	"github.com/gantrybuild/gantry/targets/config"

	//mage:import
	_ "github.com/gantrybuild/gantry/targets"
	// init, which sets Gantry up in another module, is for a clone of
	// Gantry only: consumers' magefiles do not import it.
	//mage:import
	_ "github.com/gantrybuild/gantry/targets/setup"
)

func init() {
	targets.Configure(config.Project{
		Images: []config.Image{{Dir: "testdata/hello"}},
	})
}
