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
	Repo      string   // where CI pushes, e.g. ghcr.io/org/app
	GoVersion string   // Go version of the CI images, e.g. 1.26
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
		Description: "GitHub Actions, a matrix on native amd64 and arm64 runners uploads each platform's layout; a merge job runs index, sign, push"},
	{Name: "gitlab", Path: ".gitlab-ci.yml", file: "gitlab-single.yml.tmpl",
		Description: "GitLab CI, one job cross-compiles every platform, signs and pushes"},
	{Name: "gitlab-split", Path: ".gitlab-ci.yml", file: "gitlab-split.yml.tmpl",
		Description: "GitLab CI, parallel:matrix on native amd64 and arm64 runners, then a merge job"},
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

// Dockerfile renders a Dockerfile that copies the binaries compile:all
// cross-compiled, for docker buildx without emulation.
func Dockerfile(d Data) ([]byte, error) { return render("Dockerfile.tmpl", d) }

var funcs = template.FuncMap{
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
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("rendering template %s: %w", file, err)
	}
	return buf.Bytes(), nil
}
