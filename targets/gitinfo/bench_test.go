package gitinfo

import (
	"fmt"
	"testing"
)

// BenchmarkRead reads a 200-commit repository whose only tag is on the first
// commit, so the walk covers the whole history.
func BenchmarkRead(b *testing.B) {
	r := newRepo(b)
	r.write(".gitignore", "dist/\n")
	for i := range 50 {
		r.write(fmt.Sprintf("pkg/file%d.go", i), "package pkg\n")
	}
	r.tag("v1.0.0", r.commit())
	r.commits(199)
	for i := range 100 {
		r.write(fmt.Sprintf("dist/out%d", i), "ignored")
	}
	for b.Loop() {
		info, err := Read(r.dir)
		if err != nil {
			b.Fatal(err)
		}
		if info.Version != "v1.0.0-199-g"+info.Revision[:7] {
			b.Fatalf("Read: got Version %q", info.Version)
		}
	}
}
