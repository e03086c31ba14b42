package gitinfo

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
)

func TestZZMeasure(t *testing.T) {
	for _, dir := range strings.Split(os.Getenv("MEASURE"), ",") {
		if dir == "" {
			continue
		}
		for i := 0; i < 3; i++ {
			start := time.Now()
			info, err := Read(dir)
			total := time.Since(start)
			repo, _ := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
			start = time.Now()
			d, _ := dirty(repo)
			st := time.Since(start)
			t.Logf("%s: Read %v (status %v) %s dirty=%v shallow=%v err=%v", dir, total, st, info.Version, d, info.Shallow, err)
		}
	}
}
