package config

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gantrybuild/gantry/targets/platform"
)

// resolve fills in an image's defaults and checks what can be checked
// without the toolchain (platform support is checked against `go tool dist
// list` by the compile step).
func resolve(img Image, root string) (ResolvedImage, error) {
	if img.Dir == "" {
		img.Dir = "."
	}
	t := ResolvedImage{Dir: abs(root, img.Dir)}
	mod, err := modulePath(t.Dir)
	if err != nil {
		return ResolvedImage{}, err
	}
	t.Module = mod
	if img.Main == "" {
		if img.Main, err = findMain(t.Dir); err != nil {
			return ResolvedImage{}, err
		}
	} else if img.Main, err = checkMain(t.Dir, img.Main); err != nil {
		return ResolvedImage{}, err
	}
	if img.Name == "" {
		img.Name = DefaultImageName(mod, img.Main)
	}
	if !imageName.MatchString(img.Name) {
		return ResolvedImage{}, fmt.Errorf("image name %q is not a valid OCI repository name: use lower-case letters, digits and separators (. _ -), e.g. set GANTRY_IMAGE=my-app", img.Name)
	}
	if len(img.Platforms) == 0 {
		img.Platforms = DefaultPlatforms()
	}
	if t.Platforms, err = platform.ParseList(strings.Join(img.Platforms, ",")); err != nil {
		return ResolvedImage{}, err
	}
	if img.Base == "" {
		img.Base = DefaultBase
	}
	if err := checkBases(&img, t.Platforms); err != nil {
		return ResolvedImage{}, err
	}
	if img.User == "" {
		img.User = DefaultUser
	}
	if img.BinDir == "" {
		img.BinDir = DefaultBinDir
	}
	if !strings.HasPrefix(img.BinDir, "/") {
		return ResolvedImage{}, fmt.Errorf("binary directory %q must be an absolute path in the image, e.g. /usr/local/bin", img.BinDir)
	}
	for field, v := range map[string]string{"VersionVar": img.VersionVar, "RevisionVar": img.RevisionVar, "BuildTimeVar": img.BuildTimeVar} {
		if v != "" {
			t.ExplicitVars = append(t.ExplicitVars, field)
		}
	}
	sort.Strings(t.ExplicitVars)
	img.VersionVar = orDefault(img.VersionVar, DefaultVersionVar)
	img.RevisionVar = orDefault(img.RevisionVar, DefaultRevisionVar)
	img.BuildTimeVar = orDefault(img.BuildTimeVar, DefaultBuildTimeVar)
	if err := resolveContents(&img, t.Dir); err != nil {
		return ResolvedImage{}, err
	}
	if _, err := os.Stat(filepath.Join(t.Dir, "vendor", "modules.txt")); err == nil {
		t.Vendor = true
	}
	t.Name, t.Main, t.Base, t.Bases = img.Name, img.Main, img.Base, img.Bases
	t.User, t.BinDir = img.User, img.BinDir
	t.VersionVar, t.RevisionVar, t.BuildTimeVar = img.VersionVar, img.RevisionVar, img.BuildTimeVar
	t.BuildTags, t.Ldflags, t.Labels = img.BuildTags, img.Ldflags, img.Labels
	t.Files, t.Env, t.Args, t.WorkingDir = img.Files, img.Env, img.Args, img.WorkingDir
	t.Ports, t.StopSignal, t.MaxFileSize, t.KoData = img.Ports, img.StopSignal, img.MaxFileSize, img.KoData
	return t, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func modulePath(dir string) (string, error) {
	gomod := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(gomod)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no go.mod in %s: Gantry builds Go modules; run `go mod init <module path>` there, or point Image.Dir at the module", dir)
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", gomod, err)
	}
	path := modfile.ModulePath(data)
	if path == "" {
		return "", fmt.Errorf("%s has no module line: add `module <path>` at its top", gomod)
	}
	return path, nil
}

// isMain reports whether dir holds a Go package named main (for linux).
func isMain(dir string) bool {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "linux", "amd64", false
	pkg, err := ctx.ImportDir(dir, 0)
	return err == nil && pkg.Name == "main"
}

// FindMains lists the main packages Gantry builds by default in the module
// at dir: the module root when it is package main, and each ./cmd/*
// directory that is (sorted). Mains elsewhere (examples, tools) are not
// listed: configure them with Image.Main.
func FindMains(dir string) []string {
	var found []string
	if isMain(dir) {
		found = append(found, ".")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "cmd"))
	var cmds []string
	for _, e := range entries {
		if e.IsDir() && isMain(filepath.Join(dir, "cmd", e.Name())) {
			cmds = append(cmds, "./cmd/"+e.Name())
		}
	}
	sort.Strings(cmds)
	return append(found, cmds...)
}

// DefaultImageName is the image name Gantry derives for a main package of
// the module mod: the module's last element for the root, else the main's
// (without a /vN suffix), lowercase.
func DefaultImageName(mod, main string) string {
	if main == "." || main == "" {
		return strings.ToLower(lastElem(mod))
	}
	return strings.ToLower(lastElem(main))
}

// findMain picks the module root when it is package main, else the single
// main package under cmd/.
func findMain(dir string) (string, error) {
	if isMain(dir) {
		return ".", nil
	}
	found := FindMains(dir)
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("no main package in %s: the module root is not package main and no ./cmd/* is; set GANTRY_MAIN=./path/to/main or Image.Main", dir)
	default:
		return "", fmt.Errorf("ambiguous main package in %s: %s; set GANTRY_MAIN to one of them, or configure one image per command", dir, strings.Join(found, ", "))
	}
}

func checkMain(dir, main string) (string, error) {
	rel := filepath.ToSlash(filepath.Clean(main))
	if filepath.IsAbs(main) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("main package %q must be a path inside the module %s, e.g. ./cmd/server", main, dir)
	}
	if rel != "." {
		rel = "./" + rel
	}
	if !isMain(filepath.Join(dir, rel)) {
		return "", fmt.Errorf("main package %q: %s holds no Go package main; set GANTRY_MAIN to the directory of a main package", main, filepath.Join(dir, rel))
	}
	return rel, nil
}

// MageCommand is how mage runs in the repository at root: `go tool mage`
// when the root module has mage's tool directive (init adds it), or when
// there is no build module (magefiles/go.mod) at all; else through the build
// module's tool directive, with the targets working in the root (init's
// layout for a vendored application, or one whose go line predates tool
// directives).
func MageCommand(root string) string {
	if _, err := os.Stat(filepath.Join(root, "magefiles", "go.mod")); err != nil {
		return "go tool mage"
	}
	if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
		if mf, err := modfile.Parse("go.mod", data, nil); err == nil {
			for _, t := range mf.Tool {
				if t.Path == "github.com/magefile/mage" {
					return "go tool mage"
				}
			}
		}
	}
	return "go -C magefiles tool mage -w .."
}
