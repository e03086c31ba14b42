// Package templates holds the files `mage init` writes into a consumer
// repository: a magefile that imports Gantry, CI pipelines for GitHub Actions
// and GitLab CI in two shapes (one runner cross-compiling every platform, or
// one native runner per platform merged by a final job), and an optional
// Dockerfile for teams that keep docker buildx. They are text/template files
// with [[ ]] delimiters, so the CI systems' own ${{ }} and $VAR syntax stays
// as it is.
package templates

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"go/format"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// Data is what the templates are rendered with.
type Data struct {
	Module    string   // the consumer's module path, e.g. github.com/org/app
	Image     string   // image name, e.g. app
	Main      string   // main package, e.g. ./cmd/app; empty: Gantry finds it
	Platforms []string // e.g. linux/amd64, linux/arm64
	Repo      string   // where the app is published, e.g. ghcr.io/org/app (the CI pipelines derive theirs from the CI's variables)
	GoVersion string   // Go version of the GitLab CI images, e.g. 1.26 (GitHub reads go.mod)
	// Set by init; render fills them in from the fields above when empty.
	Images       []Image // one image per main package; empty: one from Image and Main
	Mage         string  // the command that runs mage from the repository's root; empty: DefaultMage
	KitGoVersion string  // Go version magefiles/go.mod needs (the higher of the app's and the kit's), e.g. 1.26; empty: GoVersion
	Branch       string  // the branch whose pushes publish (GitHub; GitLab uses $CI_DEFAULT_BRANCH), e.g. main; empty: DefaultBranch
}

// DefaultBranch is the branch the pipelines publish from when init finds
// none in the repository.
const DefaultBranch = "main"

// Image is one image the magefile configures.
type Image struct {
	Name string // image name
	Main string // main package, e.g. ./cmd/app; empty: Gantry finds it
}

// DefaultMage runs mage from the repository's root: init adds mage's tool
// directive to the application's go.mod (mage's module has no
// dependencies, so the application's build list keeps every version).
const DefaultMage = "go tool mage"

// BuildModuleMage runs mage in the build module magefiles/ (its tool
// directive provides mage), with the targets working in the root: for an
// application whose go.mod cannot take a tool directive (vendor/ would have
// to change, or its go line predates Go 1.24).
const BuildModuleMage = "go -C magefiles tool mage -w .."

// withDefaults fills in the fields init may leave empty.
func (d Data) withDefaults() Data {
	if len(d.Images) == 0 {
		d.Images = []Image{{Name: d.Image, Main: d.Main}}
	}
	if d.Mage == "" {
		d.Mage = DefaultMage
	}
	if d.KitGoVersion == "" {
		d.KitGoVersion = d.GoVersion
	}
	if d.Branch == "" {
		d.Branch = DefaultBranch
	}
	return d
}

// CI is one CI pipeline template.
type CI struct {
	Name        string // what GANTRY_TEMPLATE selects
	Path        string // where init writes it, relative to the repository
	Description string
	file        string
}

// CIs lists the CI templates, in the order `mage init` documents them.
var CIs = []CI{
	{Name: "github", Path: ".github/workflows/image.yml", file: "github-single.yml.tmpl",
		Description: "GitHub Actions, one job cross-compiles every platform (no QEMU), signs and pushes"},
	{Name: "github-split", Path: ".github/workflows/image.yml", file: "github-split.yml.tmpl",
		Description: "GitHub Actions, a runner per platform the magefile configures uploads its layout; a merge job runs release over them (index, SBOMs, provenance, sign, push)"},
	{Name: "gitlab", Path: ".gitlab-ci.yml", file: "gitlab-single.yml.tmpl",
		Description: "GitLab CI, one job cross-compiles every platform, signs and pushes"},
	{Name: "gitlab-split", Path: ".gitlab-ci.yml", file: "gitlab-split.yml.tmpl",
		Description: "GitLab CI, parallel:matrix with a runner per platform (checked against the magefile), then a merge job runs release over the layouts"},
}

// NoCI is the GANTRY_TEMPLATE value that writes no CI pipeline.
const NoCI = "none"

// LookupCI returns the CI template called name.
func LookupCI(name string) (CI, error) {
	for _, c := range CIs {
		if c.Name == name {
			return c, nil
		}
	}
	names := make([]string, 0, len(CIs)+1)
	for _, c := range CIs {
		names = append(names, c.Name)
	}
	names = append(names, NoCI)
	return CI{}, fmt.Errorf("template %q does not exist (valid: %s)", name, strings.Join(names, ", "))
}

// Render renders the CI pipeline.
func (c CI) Render(d Data) ([]byte, error) { return render(c.file, d) }

// Magefile renders magefiles/magefile.go: it imports Gantry's targets and
// configures the image.
func Magefile(d Data) ([]byte, error) {
	src, err := render("magefile.go.tmpl", d)
	if err != nil {
		return nil, err
	}
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("formatting the magefile: %w\n%s", err, src)
	}
	return out, nil
}

// Targets is magefiles/gantry.go: one mage target per target of Gantry's
// engine, each running it (generated by the kit's `go tool mage docs` from
// package targets; see scripts/wrapper).
func Targets() []byte {
	b, err := files.ReadFile("gantry.go.tmpl")
	if err != nil {
		panic(err) // embedded
	}
	return b
}

// Dockerfile renders a Dockerfile that copies the binaries compile:all
// cross-compiled, for docker buildx without emulation.
func Dockerfile(d Data) ([]byte, error) { return render("Dockerfile.tmpl", d) }

// Actions are the GitHub actions the workflows use, pinned to the commit of
// a release (a tag can be moved; a commit cannot), the version in a comment
// for people and Dependabot. Each was read from the action's repository.
var Actions = map[string]struct{ Commit, Version string }{
	"checkout":          {"3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"},
	"setup-go":          {"b7ad1dad31e06c5925ef5d2fc7ad053ef454303e", "v7.0.0"},
	"upload-artifact":   {"bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"},
	"download-artifact": {"3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"},
}

var funcs = template.FuncMap{
	// pin is an action's commit with its version as a comment.
	"pin": func(action string) (string, error) {
		a, ok := Actions[action]
		if !ok {
			return "", fmt.Errorf("action %q has no pinned commit in templates.Actions", action)
		}
		return a.Commit + " # " + a.Version, nil
	},
	// json writes a value as JSON, e.g. the platforms as `mage platforms` prints them.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"quote": func(s string) string { return fmt.Sprintf("%q", s) },
	// arch turns linux/arm/v7 into armv7, the suffix Gantry's tags use.
	"arch": func(p string) string {
		parts := strings.Split(p, "/")
		return strings.Join(parts[1:], "")
	},
	// isArm tells whether a platform needs an Arm runner to build natively.
	"isArm": func(p string) bool { return strings.HasPrefix(strings.TrimPrefix(p, "linux/"), "arm") },
}

func render(file string, d Data) ([]byte, error) {
	t, err := template.New(file).Delims("[[", "]]").Funcs(funcs).Option("missingkey=error").ParseFS(files, file)
	if err != nil {
		return nil, fmt.Errorf("parsing template %s: %w", file, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d.withDefaults()); err != nil {
		return nil, fmt.Errorf("rendering template %s: %w", file, err)
	}
	return buf.Bytes(), nil
}
