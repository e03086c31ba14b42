// Command verpkg is a test app whose version lives outside package main
// (internal/version), with a vendored dependency and a Go 1.24 go line.
package main

import (
	_ "crypto/sha256" // go-digest's algorithm
	"fmt"

	"github.com/opencontainers/go-digest"

	"example.com/verpkg/internal/version"
)

func main() {
	fmt.Printf("verpkg %s commit=%s built=%s %s\n", version.Version, version.GitCommit, version.BuildDate, digest.FromString("verpkg").Encoded()[:12])
}
