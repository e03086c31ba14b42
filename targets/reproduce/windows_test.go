package reproduce_test

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/reproduce"
)

// A windows image on a base with a foreign layer is reproducible like the
// linux ones: two builds at different paths with separate build caches give
// the same digests, and neither fetches the foreign layer.
func TestRunWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library for windows twice")
	}
	reg := registrytest.Start(t, registrytest.WithManifestURLs(registrytest.ForeignURLs))
	foreign := registrytest.StartForeign(t)
	base := registrytest.PushWindowsBase(t, foreign, reg.Repo("windows/nanoserver:ltsc2022"), "10.0.20348.2655", "amd64")
	repo := testrepo.New(t, "plain", "")
	env := map[string]string{"GANTRY_PLATFORMS": "windows/amd64", "GANTRY_BASES": "windows=" + base.Ref}

	var log bytes.Buffer
	b := newBuild(t, repo.Dir, env, &log)
	err := reproduce.Run(context.Background(), b, &log)
	t.Logf("reproduce.Run output:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^reproducible: plain \S+ sha256:[0-9a-f]{64} \([1-9]\d* blobs identical\)$`).MatchString(log.String()) {
		t.Errorf("Run printed no `reproducible: plain …` line")
	}
	if n := foreign.Hits(); n != 0 {
		t.Errorf("the builds fetched the foreign layer %d times", n)
	}
}
