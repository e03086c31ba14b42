// Command plain is a dependency-free test app.
package main

import (
	"fmt"
	"runtime"
)

var version = "devel"

func main() { fmt.Printf("plain %s %s\n", version, runtime.GOARCH) }
