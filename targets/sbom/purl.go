package sbom

import (
	"net/url"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// golangPURL is the package URL of a Go module version:
// pkg:golang/<path>@<version>, each path segment escaped, upper case kept.
func golangPURL(mod, version string) string {
	segs := strings.Split(mod, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" && version != "(devel)" {
		p += "@" + url.PathEscape(version)
	}
	return p
}

// ociPURL is the package URL of an image manifest:
// pkg:oci/<name>@sha256%3A<hex>?arch=…&os=…&repository_url=…&variant=…
// (qualifiers sorted, as the purl spec asks). name is the last path
// segment of repo (or repo itself when it is a plain name).
func ociPURL(repo string, h v1.Hash, p *v1.Platform) string {
	name := path.Base(repo)
	q := url.Values{}
	if p != nil {
		q.Set("os", p.OS)
		q.Set("arch", p.Architecture)
		if p.Variant != "" {
			q.Set("variant", p.Variant)
		}
	}
	if strings.Contains(repo, "/") {
		q.Set("repository_url", repo)
	}
	s := "pkg:oci/" + strings.ToLower(url.PathEscape(name)) + "@" + url.PathEscape(h.String())
	if len(q) > 0 {
		// url.Values.Encode sorts by key; purl wants ':' and '/' unescaped in values.
		s += "?" + strings.NewReplacer("%2F", "/", "%3A", ":").Replace(q.Encode())
	}
	return s
}

func parseHash(s string) (v1.Hash, error) { return v1.NewHash(s) }
