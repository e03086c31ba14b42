// Command verpkgd is the second main package of the test app.
package main

import (
	"fmt"

	"example.com/verpkg/internal/version"
)

func main() {
	fmt.Printf("verpkgd %s commit=%s\n", version.Version, version.GitCommit)
}
