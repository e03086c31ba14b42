package push_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/push"
)

// fixture is the example app's layout (before), the layout after a
// one-line code change (after), and copies of both for crane.
type fixture struct {
	before, after string // Gantry layouts
	crane         [2]string
}

var (
	fixtureOnce sync.Once
	theFixture  fixture
	fixtureErr  error
)

// buildExample releases testdata/hello (v1.2.3), then again after a
// one-line change, each into its own output directory.
func buildExample(b *testing.B) fixture {
	b.Helper()
	fixtureOnce.Do(func() {
		dir := b.TempDir()
		repo := testrepo.New(b, "hello", filepath.Join(dir, "hello"))
		repo.Tag(b, "v1.2.3")
		if out, _, err := release(b, repo.Dir, map[string]string{"GANTRY_OUT": filepath.Join(dir, "before")}); err != nil {
			fixtureErr = fmt.Errorf("%v\n%s", err, out)
			return
		}
		main := filepath.Join(repo.Dir, "main.go")
		src, err := os.ReadFile(main)
		if err != nil {
			fixtureErr = err
			return
		}
		repo.Write(b, "main.go", strings.Replace(string(src), "func main() {", "func main() {\n\tprintln(\"one more line\")", 1))
		repo.Commit(b, "one-line change")
		repo.Tag(b, "v1.2.4")
		if out, _, err := release(b, repo.Dir, map[string]string{"GANTRY_OUT": filepath.Join(dir, "after")}); err != nil {
			fixtureErr = fmt.Errorf("%v\n%s", err, out)
			return
		}
		theFixture.before = filepath.Join(dir, "before", "oci", "hello")
		theFixture.after = filepath.Join(dir, "after", "oci", "hello")
		theFixture.crane = [2]string{registrytest.IndexOnlyLayout(b, theFixture.before), registrytest.IndexOnlyLayout(b, theFixture.after)}
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return theFixture
}

// pusher pushes a layout to a repository (a tag of it, for crane).
type pusher func(b *testing.B, layout int, repo string)

// BenchmarkPushExample pushes the example app through a counting proxy:
// the first push to an empty repository, the same push again, and the
// push after a one-line code change; Gantry next to `crane push` of the
// same layout. Both push one tag, so the numbers compare. It reports
// requests and bytes sent per push (counted at the proxy).
func BenchmarkPushExample(b *testing.B) {
	fx := buildExample(b)
	reg := registrytest.Start(b)
	proxy := registrytest.NewProxy(b, reg.Host, 1)
	layouts := [2]string{fx.before, fx.after}

	noArch, _ := push.ParseArchScheme("none")
	gantry := func(b *testing.B, layout int, repo string) {
		r, err := name.NewRepository(proxy.Repo(repo))
		if err != nil {
			b.Fatal(err)
		}
		_, err = push.Layouts(context.Background(), []push.Image{{Name: "hello", Layout: layouts[layout], Repos: []name.Repository{r}}},
			push.WithKeychain(authn.NewMultiKeychain()), push.WithSemver(push.SemverNone), push.WithArchTags(noArch))
		if err != nil {
			b.Fatal(err)
		}
	}
	bin := ocitest.NeedTool(b, "crane")
	crane := func(b *testing.B, layout int, repo string) {
		tag := []string{"v1.2.3", "v1.2.4"}[layout]
		cmd := exec.Command(bin, "push", "--insecure", fx.crane[layout], proxy.Repo(repo+":"+tag))
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+b.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("crane push: %v\n%s", err, out)
		}
	}

	n := 0
	fresh := func() string { n++; return fmt.Sprintf("bench%d", n) }
	for _, tool := range []struct {
		name string
		push pusher
	}{{"gantry", gantry}, {"crane", crane}} {
		scenarios := []struct {
			name  string
			setup func(b *testing.B) string // returns the repository to push to
			push  int                       // layout
		}{
			{"first", func(b *testing.B) string { return fresh() }, 0},
			{"repeat", func(b *testing.B) string { r := fresh(); tool.push(b, 0, r); return r }, 0},
			{"change", func(b *testing.B) string { r := fresh(); tool.push(b, 0, r); return r }, 1},
		}
		for _, sc := range scenarios {
			b.Run(tool.name+"/"+sc.name, func(b *testing.B) {
				var requests int
				var bytes int64
				for b.Loop() {
					b.StopTimer()
					repo := sc.setup(b)
					proxy.ResetCounts()
					b.StartTimer()
					tool.push(b, sc.push, repo)
					b.StopTimer()
					c := proxy.Counts()
					requests += c.Requests
					bytes += c.BytesReceived
					b.StartTimer()
				}
				b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
				b.ReportMetric(float64(bytes)/float64(b.N), "bytes-sent/op")
			})
		}
	}
}
