// Package config holds Gantry's configuration: what a magefile registers
// through the Go API, overridden by the environment (read only here), with
// defaults filled in and validated in one place.
package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/shared"
)

// Defaults.
const (
	DefaultOut          = "dist"
	DefaultBase         = "static"
	DefaultUser         = "65532:65532"
	DefaultBinDir       = "/usr/local/bin"
	DefaultVersionVar   = "main.version"
	DefaultRevisionVar  = "main.revision"
	DefaultBuildTimeVar = "main.buildTime"
	DefaultCompression  = "gzip"
)

// DefaultPlatforms are built when nothing else is configured.
func DefaultPlatforms() []string { return []string{"linux/amd64", "linux/arm64"} }

// Project is what a magefile registers: the images of a repository and the
// settings they share. The zero value builds the module in the current
// directory for the default platforms.
type Project struct {
	Images        []Image  // zero: one image from the module in the current directory
	Out           string   // output directory; default "dist"
	AllowDirty    bool     // let release build from a dirty work tree
	RequireVendor bool     // vendor:check fails for a module without vendor/
	Compression   string   // "gzip" (default) or "zstd"
	IndexFrom     []string // per-platform layouts to merge into one index
	Tags          []string // extra image tags, besides the version
	Jobs          int      // parallel compiles; default: number of CPUs
	Push          Push     // where and how push publishes; zero: nowhere (release stays offline)
	Sign          Sign     // signing key and formats; zero: release skips signing
	SBOM          SBOM     // SBOMs and provenance; zero: SPDX and provenance for every image
}

// Image is one container image built from one main package.
type Image struct {
	Name         string            // image name; default: last element of the module path (or of Main)
	Dir          string            // module directory (holds go.mod); default "."
	Main         string            // main package relative to Dir; default: the module root if it is package main, else the single ./cmd/*
	Base         string            // static (default), scratch, a registry reference, or oci:<dir>[:<ref>]
	Bases        map[string]string // per-OS or per-platform bases ("windows", "windows/arm64") over Base; a windows platform needs one (or a Base index with windows images)
	Platforms    []string          // default linux/amd64, linux/arm64; also windows/amd64, windows/arm64
	User         string            // default 65532:65532
	BinDir       string            // where the binary goes in the image; default /usr/local/bin
	VersionVar   string            // -X variable set to the version, e.g. example.com/app/internal/version.Version; default main.version, else a detected version/Version string variable of the module (stated in the log); "-" disables; a set one that is not a string variable fails the build
	RevisionVar  string            // -X variable set to the revision; default main.revision, else a revision/commit/gitCommit variable next to the version; "-" disables
	BuildTimeVar string            // -X variable set to the build time (RFC 3339); default main.buildTime, else a buildTime/buildDate/date variable next to the version; "-" disables
	BuildTags    []string          // go build -tags
	Ldflags      []string          // extra linker flags after -s -w
	Labels       map[string]string // extra config labels
	Files        []File            // files, directories or globs of the module to add, in a layer of their own below the binary's (docs/image-contents.md)
	Env          map[string]string // environment variables, over the base's (names: letters, digits, _)
	Args         []string          // default arguments after the entrypoint (the image config's Cmd)
	WorkingDir   string            // working directory; default / (windows: the base's)
	Ports        []string          // exposed ports: 8080, 8080/tcp, 53/udp
	StopSignal   string            // signal that stops the container, e.g. SIGINT or 15; default: the base's
	MaxFileSize  int64             // largest file Files and kodata/ may add, in bytes; 0: no limit (GANTRY_MAX_FILE_SIZE)
	KoData       string            // where the main package's kodata/ directory goes, with KO_DATA_PATH set to it; default /var/run/ko (as ko); "-" leaves it out
}

// Config is the effective configuration: defaults applied, environment
// overrides applied, values validated.
type Config struct {
	Out             string
	AllowDirty      bool
	RequireVendor   bool
	Compression     string
	IndexFrom       []string
	Tags            []string
	Jobs            int
	Push            PushConfig
	Sign            SignConfig
	SBOM            SBOMConfig
	SourceDateEpoch *time.Time // nil: use the commit time
	Images          []ResolvedImage
	Mage            string // the command mage runs with in this repository (MageCommand), for hints

	outFrom, outGiven string // where Out came from and its value as set, for CheckOutGit
}

// ResolvedImage is one configured Image with its defaults filled in, its
// module, platforms and destinations resolved: what the build steps take.
type ResolvedImage struct {
	Name         string            // image name (a valid OCI repository name)
	Dir          string            // absolute module directory
	Module       string            // module path from go.mod
	Main         string            // main package relative to Dir, e.g. "./cmd/app" or "."
	Platforms    []v1.Platform     // in the configured order, each once
	Base         string            // static, scratch, a registry reference, or oci:<dir>[:<ref>]
	Bases        map[string]string // per-OS or per-platform bases over Base, keys normalised
	User         string            // image config user
	BinDir       string            // where the binary goes in the image
	VersionVar   string            // -X variable set to the version; "-": none
	RevisionVar  string            // -X variable set to the revision; "-": none
	BuildTimeVar string            // -X variable set to the build time; "-": none
	BuildTags    []string          // go build -tags
	Ldflags      []string          // extra linker flags after -s -w
	Labels       map[string]string // extra config labels
	Files        []File            // files to add, as configured (FileSpecs adds kodata/)
	Env          map[string]string // environment variables, as configured (EnvList adds KO_DATA_PATH)
	Args         []string          // the image config's Cmd
	WorkingDir   string            // "" : / (windows: the base's)
	Ports        []string          // normalised: 8080/tcp
	StopSignal   string            // normalised: SIGTERM, or a number; "": the base's
	MaxFileSize  int64             // bytes; 0: no limit
	KoData       string            // where the main package's kodata/ goes; "": it has none, or "-" was configured
	Vendor       bool              // the module has a vendor/ directory
	Repos        []string          // where push publishes it (from Push.Repos)

	// ExplicitVars names the fields among VersionVar, RevisionVar and
	// BuildTimeVar that were configured; the others hold defaults, which
	// the build may replace with a variable it detects (package inject).
	ExplicitVars []string
	// Injections describes, one line each, what -X sets in this image's
	// build (filled in by package inject for `mage config`; nil: not
	// checked).
	Injections []string
}

// LinkVar is one -X injection an image asks for.
type LinkVar struct {
	Role     string // what the variable receives: version, revision or build time
	Field    string // the Image field that names it: VersionVar, RevisionVar or BuildTimeVar
	Symbol   string // import path and name, e.g. main.version; "-": nothing
	Explicit bool   // configured, not the default
}

// LinkVars lists the image's -X injections: version, revision, build time.
func (t ResolvedImage) LinkVars() []LinkVar {
	vars := []LinkVar{
		{Role: "version", Field: "VersionVar", Symbol: t.VersionVar},
		{Role: "revision", Field: "RevisionVar", Symbol: t.RevisionVar},
		{Role: "build time", Field: "BuildTimeVar", Symbol: t.BuildTimeVar},
	}
	for i := range vars {
		vars[i].Explicit = slices.Contains(t.ExplicitVars, vars[i].Field)
	}
	return vars
}

var imageName = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// Load applies env over p, fills in defaults and validates. Relative
// directories are resolved against root (the directory mage runs in).
func Load(p Project, env Env, root string) (*Config, error) {
	if err := checkEmpty(env); err != nil {
		return nil, err
	}
	c := &Config{
		Mage: MageCommand(root),
		Out:  p.Out, AllowDirty: p.AllowDirty, RequireVendor: p.RequireVendor,
		Compression: p.Compression, IndexFrom: slices.Clone(p.IndexFrom), Tags: slices.Clone(p.Tags), Jobs: p.Jobs,
	}
	if err := c.applyEnv(env); err != nil {
		return nil, err
	}
	push, perr := loadPush(p.Push, env)
	if perr != nil {
		return nil, perr
	}
	c.Push = push
	sign, serr := loadSign(p.Sign, env, root)
	if serr != nil {
		return nil, serr
	}
	c.Sign = sign
	sbom, berr := loadSBOM(p.SBOM, env)
	if berr != nil {
		return nil, berr
	}
	c.SBOM = sbom
	outFrom := "Project.Out"
	if _, ok := env.lookup("GANTRY_OUT"); ok {
		outFrom = "GANTRY_OUT"
	}
	if c.Out == "" {
		c.Out, outFrom = DefaultOut, "default"
	}
	outGiven := c.Out
	c.Out = abs(root, c.Out)
	indexFrom, err := expandIndexFrom(root, c.IndexFrom)
	if err != nil {
		return nil, err
	}
	c.IndexFrom = indexFrom
	switch c.Compression {
	case "":
		c.Compression = DefaultCompression
	case "gzip", "zstd":
	default:
		return nil, fmt.Errorf("compression %q is not supported: use gzip or zstd", c.Compression)
	}

	images := p.Images
	if len(images) == 0 {
		images = []Image{{}}
	}
	images, err = imagesFromEnv(images, env)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, img := range images {
		t, err := resolve(img, root)
		if err != nil {
			return nil, err
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("two images are named %q: give each configured image its own Name", t.Name)
		}
		seen[t.Name] = true
		t.Repos = imageRepos(c.Push.Repos, t.Name, len(images) > 1)
		c.Images = append(c.Images, t)
	}
	modules := []string{root}
	for _, t := range c.Images {
		modules = append(modules, t.Dir)
	}
	if err := checkOut(c.Out, outFrom, outGiven, modules); err != nil {
		return nil, err
	}
	c.outFrom, c.outGiven = outFrom, outGiven
	return c, nil
}

func (c *Config) applyEnv(env Env) error {
	if v, ok := env.lookup("GANTRY_OUT"); ok {
		c.Out = v
	}
	if v, ok := env.lookup("GANTRY_TAGS"); ok {
		tags, err := splitList("GANTRY_TAGS", v)
		if err != nil {
			return err
		}
		c.Tags = append(c.Tags, tags...)
	}
	if v, ok := env.lookup("GANTRY_INDEX_FROM"); ok {
		from, err := splitList("GANTRY_INDEX_FROM", v)
		if err != nil {
			return err
		}
		c.IndexFrom = from
	}
	if v, ok := env.lookup("GANTRY_COMPRESSION"); ok {
		c.Compression = v
	}
	for name, dst := range map[string]*bool{"GANTRY_ALLOW_DIRTY": &c.AllowDirty, "GANTRY_REQUIRE_VENDOR": &c.RequireVendor} {
		if v, ok := env.lookup(name); ok {
			b, err := parseBool(name, v)
			if err != nil {
				return err
			}
			*dst = b
		}
	}
	if v, ok := env.lookup("GANTRY_JOBS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("GANTRY_JOBS=%q is not a positive number", v)
		}
		c.Jobs = n
	}
	if v, ok := env.lookup("SOURCE_DATE_EPOCH"); ok {
		t, err := parseEpoch(v)
		if err != nil {
			return err
		}
		c.SourceDateEpoch = &t
	}
	for _, tag := range c.Tags {
		if !validTag(tag) {
			return fmt.Errorf("tag %q is not a valid image tag: use letters, digits, '_', '.', '-' (at most 128, not starting with '.' or '-')", tag)
		}
	}
	return nil
}

// imagesFromEnv applies GANTRY_IMAGE/MAIN/BASE/PLATFORMS. With one image they
// override it; with several, GANTRY_IMAGE selects images by name and
// GANTRY_MAIN is refused.
func imagesFromEnv(images []Image, env Env) ([]Image, error) {
	images = append([]Image(nil), images...)
	name, hasName := env.lookup("GANTRY_IMAGE")
	mainPkg, hasMain := env.lookup("GANTRY_MAIN")
	if len(images) > 1 {
		if hasMain {
			return nil, fmt.Errorf("GANTRY_MAIN=%q cannot apply to %d configured images: set Main in each image's configuration, or pick images with GANTRY_IMAGE", mainPkg, len(images))
		}
		if hasName {
			var picked []Image
			want, err := splitList("GANTRY_IMAGE", name)
			if err != nil {
				return nil, err
			}
			for _, w := range want {
				found := false
				for _, img := range images {
					if imageLabel(img) == w {
						picked, found = append(picked, img), true
					}
				}
				if !found {
					return nil, fmt.Errorf("GANTRY_IMAGE names %q, which is not a configured image (configured: %s)", w, strings.Join(imageLabels(images), ", "))
				}
			}
			images = picked
		}
	} else {
		if hasName {
			images[0].Name = name
		}
		if hasMain {
			images[0].Main = mainPkg
		}
	}
	base, hasBase := env.lookup("GANTRY_BASE")
	plats, hasPlats := env.lookup("GANTRY_PLATFORMS")
	var platforms []string
	if hasPlats {
		var err error
		if platforms, err = splitList("GANTRY_PLATFORMS", plats); err != nil {
			return nil, err
		}
	}
	var maxSize int64
	sizeSet := false
	if v, ok := env.lookup("GANTRY_MAX_FILE_SIZE"); ok {
		n, err := parseSize("GANTRY_MAX_FILE_SIZE", v)
		if err != nil {
			return nil, err
		}
		maxSize, sizeSet = n, true
	}
	var bases map[string]string
	if v, ok := env.lookup("GANTRY_BASES"); ok {
		var err error
		if bases, err = parseBases(v); err != nil {
			return nil, err
		}
	}
	for i := range images {
		if hasBase {
			images[i].Base = base
		}
		if bases != nil {
			images[i].Bases = bases
		}
		if hasPlats {
			images[i].Platforms = slices.Clone(platforms)
		}
		if sizeSet {
			images[i].MaxFileSize = maxSize
		}
	}
	return images, nil
}

func imageLabel(img Image) string {
	if img.Name != "" {
		return img.Name
	}
	return lastElem(img.Main)
}

func imageLabels(images []Image) []string {
	var out []string
	for _, img := range images {
		out = append(out, imageLabel(img))
	}
	return out
}

func validTag(s string) bool { return shared.ValidTag(s) }

func abs(root, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(root, p)
}

// lastElem is the last element of a slash path, without a /vN major
// version suffix: "example.com/svc/v2" → "svc".
func lastElem(p string) string {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "./"), "/")
	parts := strings.Split(p, "/")
	last := parts[len(parts)-1]
	if len(parts) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		last = parts[len(parts)-2]
	}
	if last == "." {
		return ""
	}
	return last
}

// expandIndexFrom resolves the layouts to merge against root; an entry with
// a glob pattern (dist/layouts/*, where a CI job downloads one artifact per
// build job) stands for the directories it matches, and must match one.
func expandIndexFrom(root string, entries []string) ([]string, error) {
	var out []string
	for _, e := range entries {
		p := abs(root, e)
		if !strings.ContainsAny(e, "*?[") {
			out = append(out, p)
			continue
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("GANTRY_INDEX_FROM entry %q is not a valid pattern: %w", e, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("GANTRY_INDEX_FROM entry %q matches no directory: did the build jobs' layouts reach this job?", e)
		}
		out = append(out, matches...)
	}
	return out, nil
}

// Platforms are the platforms of every image, each once, in the order they
// are configured: what a CI matrix of per-platform build jobs runs.
func (c *Config) Platforms() []v1.Platform {
	var out []v1.Platform
	seen := map[string]bool{}
	for _, t := range c.Images {
		for _, p := range t.Platforms {
			key := p.OS + "/" + p.Architecture + "/" + p.Variant + "/" + p.OSVersion
			if !seen[key] {
				seen[key] = true
				out = append(out, p)
			}
		}
	}
	return out
}
