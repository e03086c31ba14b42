// Command hello is Gantry's example service: it prints what the build
// injected, so an image can be checked from the outside.
package main

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/mod/semver"
)

// Set by the linker (-X) at build time.
var (
	version   = "devel"
	revision  = "unknown"
	buildTime = "unknown"
)

func main() {
	kind := "development build"
	if semver.IsValid(version) {
		kind = "release " + semver.MajorMinor(version)
		if semver.Prerelease(version) != "" || semver.Build(version) != "" {
			kind = "pre-release of " + semver.MajorMinor(version)
		}
	}
	fmt.Printf("hello version=%s revision=%s built=%s goarch=%s (%s)\n", version, revision, buildTime, runtime.GOARCH, kind)
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(version)
	}
}
