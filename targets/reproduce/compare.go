package reproduce

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Diff is the outcome of comparing two layouts.
type Diff struct {
	IndexA, IndexB v1.Hash // digests of the image indexes named in index.json
	Blobs          int     // blobs compared
	Differences    []string
}

// Equal reports whether both layouts hold the same index and blobs.
func (d Diff) Equal() bool { return len(d.Differences) == 0 && d.IndexA == d.IndexB }

func (d Diff) String() string {
	if d.Equal() {
		return "identical"
	}
	return fmt.Sprintf("index %s vs %s:\n  %s", d.IndexA, d.IndexB, strings.Join(d.Differences, "\n  "))
}

// Compare compares two layouts written by the same steps: the index digest,
// the set of blobs, and for each platform whose manifest differs, its config
// and the files inside differing layers.
func Compare(a, b string) (Diff, error) {
	var d Diff
	ia, pa, err := entries(a)
	if err != nil {
		return d, err
	}
	ib, pb, err := entries(b)
	if err != nil {
		return d, err
	}
	d.IndexA, d.IndexB = ia, ib
	ba, err := blobs(a)
	if err != nil {
		return d, err
	}
	bb, err := blobs(b)
	if err != nil {
		return d, err
	}
	d.Blobs = len(ba)
	for _, h := range sortedKeys(ba) {
		if !bb[h] {
			d.Differences = append(d.Differences, "blob only in the first build: sha256:"+h)
		}
	}
	for _, h := range sortedKeys(bb) {
		if !ba[h] {
			d.Differences = append(d.Differences, "blob only in the second build: sha256:"+h)
		}
	}
	for _, key := range sortedKeys(pb) {
		if _, ok := pa[key]; !ok {
			d.Differences = append(d.Differences, key+": only in the second build")
		}
	}
	for _, key := range sortedKeys(pa) {
		ma, mb := pa[key], pb[key]
		if mb == (v1.Hash{}) {
			d.Differences = append(d.Differences, key+": only in the first build")
			continue
		}
		if ma == mb {
			continue
		}
		more, err := compareImages(a, b, ma, mb)
		if err != nil {
			return d, err
		}
		for _, m := range more {
			d.Differences = append(d.Differences, key+": "+m)
		}
	}
	return d, nil
}

// entries reads index.json: the index digest and platform → manifest digest.
func entries(dir string) (v1.Hash, map[string]v1.Hash, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("reading layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, nil, err
	}
	var index v1.Hash
	plats := map[string]v1.Hash{}
	for _, m := range im.Manifests {
		switch {
		case m.MediaType.IsIndex():
			index = m.Digest
		case m.Platform != nil:
			plats[platform.String(*m.Platform)] = m.Digest
		}
	}
	return index, plats, nil
}

func blobs(dir string) (map[string]bool, error) {
	es, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range es {
		if e.Type().IsRegular() && len(e.Name()) == 64 {
			out[e.Name()] = true
		}
	}
	return out, nil
}

func compareImages(a, b string, ma, mb v1.Hash) ([]string, error) {
	pa, err := layout.FromPath(a)
	if err != nil {
		return nil, err
	}
	pb, err := layout.FromPath(b)
	if err != nil {
		return nil, err
	}
	imgA, err := pa.Image(ma)
	if err != nil {
		return nil, err
	}
	imgB, err := pb.Image(mb)
	if err != nil {
		return nil, err
	}
	mfA, err := imgA.Manifest()
	if err != nil {
		return nil, err
	}
	mfB, err := imgB.Manifest()
	if err != nil {
		return nil, err
	}
	var out []string
	if mfA.Config.Digest != mfB.Config.Digest {
		ca, _ := imgA.RawConfigFile()
		cb, _ := imgB.RawConfigFile()
		out = append(out, fmt.Sprintf("config differs (%s vs %s): %s", mfA.Config.Digest, mfB.Config.Digest, firstDifference(string(ca), string(cb))))
	}
	if len(mfA.Layers) != len(mfB.Layers) {
		return append(out, fmt.Sprintf("%d layers vs %d", len(mfA.Layers), len(mfB.Layers))), nil
	}
	la, _ := imgA.Layers()
	lb, _ := imgB.Layers()
	for i := range mfA.Layers {
		if mfA.Layers[i].Digest == mfB.Layers[i].Digest {
			continue
		}
		files, err := diffLayer(la[i], lb[i])
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("layer %d differs (%s vs %s): %s", i, mfA.Layers[i].Digest, mfB.Layers[i].Digest, files))
	}
	return out, nil
}

// diffLayer names the tar entries whose header or content differ.
func diffLayer(a, b v1.Layer) (string, error) {
	ea, err := tarEntries(a)
	if err != nil {
		return "", err
	}
	eb, err := tarEntries(b)
	if err != nil {
		return "", err
	}
	var diffs []string
	for _, name := range sortedKeys(ea) {
		if eb[name] != ea[name] {
			diffs = append(diffs, fmt.Sprintf("%s (%s vs %s)", name, ea[name], orNone(eb[name])))
		}
	}
	for _, name := range sortedKeys(eb) {
		if _, ok := ea[name]; !ok {
			diffs = append(diffs, name+" only in the second build")
		}
	}
	if len(diffs) == 0 {
		return "same files; tar headers or compression differ", nil
	}
	return strings.Join(diffs, ", "), nil
}

func orNone(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

// tarEntries maps each entry to a summary of its header and content hash.
func tarEntries(l v1.Layer) (map[string]string, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			return nil, err
		}
		out[h.Name] = fmt.Sprintf("mode %o uid %d gid %d mtime %d sha256:%s", h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), hex.EncodeToString(sum.Sum(nil))[:12])
	}
}

// firstDifference shows where two strings start to differ.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-20)
	return fmt.Sprintf("%q vs %q", clip(a[from:], 60), clip(b[from:], 60))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
