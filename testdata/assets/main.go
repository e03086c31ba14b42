// Command assets is a test app that ships files besides its binary: its
// kodata/ tree (as ko lays it out) and a config file.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

var version = "devel"

func main() {
	wd, _ := os.Getwd()
	index, err := os.ReadFile(filepath.Join(os.Getenv("KO_DATA_PATH"), "index.html"))
	if err != nil {
		fmt.Println("no kodata:", err)
	}
	fmt.Printf("assets %s %s cwd=%s mode=%s args=%s index=%q\n", version, runtime.GOARCH, wd, os.Getenv("APP_MODE"), strings.Join(os.Args[1:], ","), strings.TrimSpace(string(index)))
}
