package pipeline

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// ImageSummary describes one image's layout after a release.
type ImageSummary struct {
	Name      string
	Version   string
	Layout    string
	Index     v1.Hash // zero when no index was written yet
	Platforms []PlatformSummary
}

// PlatformSummary is one platform image.
type PlatformSummary struct {
	Platform v1.Platform
	Digest   v1.Hash
	Size     int64 // manifest + config + layers, compressed
}

// Summarize reads every image's layout back.
func (b *Build) Summarize() ([]ImageSummary, error) {
	var out []ImageSummary
	for _, t := range b.Config.Images {
		s, err := summarize(b.LayoutDir(t))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", t.Name, err)
		}
		s.Name = t.Name
		out = append(out, s)
	}
	return out, nil
}

func summarize(dir string) (ImageSummary, error) {
	s := ImageSummary{Layout: dir}
	store, err := ocidir.Open(dir)
	if err != nil {
		return s, err
	}
	ij, err := store.IndexJSON()
	if err != nil {
		return s, err
	}
	for _, d := range ij.Manifests {
		switch {
		case sigtag.IsEntry(d):
		case d.MediaType.IsIndex():
			s.Index = d.Digest
			s.Version = d.Annotations[index.RefName]
		case d.MediaType.IsImage() && d.Platform != nil:
			img, err := store.Image(d.Digest)
			if err != nil {
				return s, err
			}
			m, err := img.Manifest()
			if err != nil {
				return s, err
			}
			size := d.Size + m.Config.Size
			for _, l := range m.Layers {
				size += l.Size
			}
			if s.Version == "" {
				s.Version = m.Annotations[index.Version]
			}
			s.Platforms = append(s.Platforms, PlatformSummary{Platform: *d.Platform, Digest: d.Digest, Size: size})
		}
	}
	return s, nil
}

// PrintSummary writes the summary a person wants after a release.
func PrintSummary(w io.Writer, images []ImageSummary) {
	for _, s := range images {
		fmt.Fprintf(w, "\n%s %s\n", s.Name, s.Version)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, p := range s.Platforms {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", platform.String(p.Platform), p.Digest, humanSize(p.Size))
		}
		if s.Index != (v1.Hash{}) {
			fmt.Fprintf(tw, "  index\t%s\t\n", s.Index)
		}
		fmt.Fprintf(tw, "  layout\t%s\t\n", relPath(s.Layout))
		tw.Flush()
	}
	if len(images) == 0 {
		return
	}
	s := images[0]
	fmt.Fprintf(w, "\nNext:\n")
	mage := "go tool mage"
	if wd, err := os.Getwd(); err == nil {
		mage = config.MageCommand(wd)
	}
	fmt.Fprintf(w, "  %s verify:reproducible   rebuild in clean temp dirs and compare digests\n", mage)
	fmt.Fprintf(w, "  skopeo inspect oci:%s:%s   inspect the index with an independent tool\n", relPath(s.Layout), s.Version)
	if len(s.Platforms) > 0 {
		fmt.Fprintf(w, "  umoci unpack --image %s:%s rootfs   unpack one platform\n", relPath(s.Layout), index.RefNameFor(s.Version, &s.Platforms[0].Platform))
	}
}

func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}
