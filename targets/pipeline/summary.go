package pipeline

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/shared"
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

// PrintSummary writes the summary a person wants after a release: per
// image, each platform's digest and size, the index and the layout, then
// what to run next. Columns align; paths are relative to the working
// directory when under it.
func PrintSummary(w io.Writer, images []ImageSummary) {
	for _, s := range images {
		fmt.Fprintf(w, "\n%s %s\n", s.Name, s.Version)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, p := range s.Platforms {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", platform.String(p.Platform), p.Digest, shared.HumanSize(p.Size))
		}
		if s.Index != (v1.Hash{}) {
			fmt.Fprintf(tw, "  index\t%s\n", s.Index)
		}
		fmt.Fprintf(tw, "  layout\t%s\n", shared.RelPath(s.Layout))
		tw.Flush()
	}
	if len(images) == 0 {
		return
	}
	s := images[0]
	layout := shared.RelPath(s.Layout)
	fmt.Fprintf(w, "\nNext:\n")
	mage := "go tool mage"
	if wd, err := os.Getwd(); err == nil {
		mage = config.MageCommand(wd)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintf(tw, "  rebuild and compare digests\t%s verify:reproducible\n", mage)
	fmt.Fprintf(tw, "  inspect with another tool\tskopeo inspect oci:%s:%s\n", layout, s.Version)
	if len(s.Platforms) > 0 {
		fmt.Fprintf(tw, "  unpack one platform\tumoci unpack --image %s:%s rootfs\n", layout, index.RefNameFor(s.Version, &s.Platforms[0].Platform))
	}
	tw.Flush()
}
