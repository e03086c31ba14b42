// Command worker is one of two commands of a test module with a cmd/ layout.
package main

import (
	"fmt"
	"runtime"
)

var version = "devel"

func main() { fmt.Printf("worker %s %s\n", version, runtime.GOARCH) }
