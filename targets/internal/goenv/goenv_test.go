package goenv

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	ctx := context.Background()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GOFLAGS=-mod=mod", "GOARCH=bogus", "GOOS=plan9", "GOAMD64=v9"}
	v, err := Read(ctx, "", "", env)
	if err != nil {
		t.Skipf("go env: %v", err)
	}
	if v.GOFLAGS != "-mod=mod" || v.GOROOT == "" || !strings.HasPrefix(v.GOVERSION, "go") {
		t.Errorf("Read = %+v, want GOFLAGS -mod=mod, a GOROOT and a go version (the invalid GOARCH, GOOS and GOAMD64 dropped)", v)
	}
	again, err := Read(ctx, "", "", env)
	if err != nil || !cmp.Equal(v, again) {
		t.Errorf("second Read = %+v, %v; want %+v", again, err, v)
	}
	if _, err := Read(ctx, "/nonexistent/go", "", env); err == nil || !strings.Contains(err.Error(), "/nonexistent/go") {
		t.Errorf("Read with a missing go command: error %v, want one naming it", err)
	}
}

func TestHostEnv(t *testing.T) {
	got := hostEnv([]string{"A=1", "GOOS=linux", "GOARCH=arm", "GOARM=7", "CGO_ENABLED=1", "GOAMD64=v3", "GOARM64=v8.2", "GOFLAGS=-x"})
	if want := []string{"A=1", "GOFLAGS=-x"}; !cmp.Equal(got, want) {
		t.Errorf("hostEnv = %q, want %q", got, want)
	}
}
