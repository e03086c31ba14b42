package ocidir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// layerJobs bounds how many layers WriteImage copies at once: one per core
// (hashing is CPU-bound), at most 4 (beyond that only open files and dirty
// pages grow). On 2 cores, 2 jobs write 4 layers 2.3x faster than 1, and 4
// jobs no faster than 2 (BenchmarkWriteImage).
func layerJobs() int {
	return min(4, max(1, runtime.GOMAXPROCS(0)))
}

// WriteImage writes img's layers, config and manifest, skipping verified
// blobs that already exist, and returns the manifest's descriptor
// (MediaType, Size, Digest; Platform, with os.version and os.features,
// from the config). Non-distributable (foreign) layers are not written,
// nor read: their manifest descriptor says where they are served, and
// pulling them is the runtime's business (as ggcr's remote.Write skips
// them).
//
// Layers are streamed from img into the layout, never held in memory; ctx
// cancels between and during layer copies. Manifests that describe an
// artifact (artifactType, or a config that is not an image config) get
// ArtifactType in the descriptor and no Platform.
func (d *Dir) WriteImage(ctx context.Context, img v1.Image) (v1.Descriptor, error) {
	if err := ctx.Err(); err != nil {
		return v1.Descriptor{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing image: listing layers: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.layerJobs)
	seen := make(map[v1.Hash]bool, len(layers))
	for i, l := range layers {
		if mt, err := l.MediaType(); err == nil && !mt.IsDistributable() {
			continue // a foreign layer: its manifest names where it lives, never this layout
		}
		if h, err := l.Digest(); err == nil {
			if seen[h] {
				continue
			}
			seen[h] = true
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := d.writeLayer(gctx, l); err != nil {
				return fmt.Errorf("writing image: layer %d: %w", i, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return v1.Descriptor{}, err
	}
	if err := ctx.Err(); err != nil {
		return v1.Descriptor{}, err
	}

	m, err := img.Manifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing image: reading manifest: %w", err)
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing image: reading config: %w", err)
	}
	if err := d.writeBytes(rawCfg, m.Config.Digest, m.Config.Size); err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing image config: %w", err)
	}

	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing image: reading manifest: %w", err)
	}
	h, n, err := sha256Of(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, err
	}
	if err := d.writeBytes(raw, h, n); err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing image manifest: %w", err)
	}

	desc := v1.Descriptor{MediaType: m.MediaType, Size: n, Digest: h}
	if mt, err := img.MediaType(); err == nil && mt != "" {
		desc.MediaType = mt
	}
	if desc.MediaType == "" {
		desc.MediaType = types.OCIManifestSchema1
	}
	switch {
	case m.ArtifactType != "":
		desc.ArtifactType = m.ArtifactType
	case isImageConfig(m.Config.MediaType):
		cf, err := img.ConfigFile()
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("writing image: parsing config: %w", err)
		}
		if cf.OS != "" || cf.Architecture != "" {
			desc.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion, OSFeatures: cf.OSFeatures}
		}
	case m.Config.MediaType != "":
		desc.ArtifactType = string(m.Config.MediaType)
	}
	return desc, nil
}

func isImageConfig(mt types.MediaType) bool {
	return mt == types.OCIConfigJSON || mt == types.DockerConfigJSON
}

// writeBytes writes a small blob (config, manifest) that must hash to want
// and be size bytes long.
func (d *Dir) writeBytes(b []byte, want v1.Hash, size int64) error {
	if int64(len(b)) != size {
		return fmt.Errorf("%s: descriptor says %d bytes, content has %d", want, size, len(b))
	}
	_, _, err := d.WriteBlob(bytes.NewReader(b), want)
	return err
}

// writeLayer streams l's compressed content into the layout unless a
// verified copy is there already.
func (d *Dir) writeLayer(ctx context.Context, l v1.Layer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	want, err := l.Digest()
	streaming := errors.Is(err, stream.ErrNotComputed) // known once read
	if err != nil && !streaming {
		return err
	}
	size := int64(-1)
	if !streaming {
		if size, err = l.Size(); err != nil {
			return err
		}
		if ok, err := d.HasBlob(want, size); err != nil || ok {
			return err
		}
	}

	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	s, err := d.Stage()
	if err != nil {
		return err
	}
	defer s.Abort()
	read := readerFunc(func(p []byte) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return rc.Read(p)
	})
	if _, err := copyBuffer(s, read); err != nil {
		return err
	}
	// A stream layer computes its digest in Close.
	if err := rc.Close(); err != nil {
		return err
	}
	if streaming {
		want = v1.Hash{}
	}
	got, n, err := s.Commit(want)
	if err != nil {
		return err
	}
	if streaming {
		if want, err = l.Digest(); err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("stream layer: wrote %s, layer says %s", got, want)
		}
	} else if n != size {
		return fmt.Errorf("%s: descriptor says %d bytes, content has %d", got, size, n)
	}
	return nil
}

// readerFunc is an io.Reader made of a function.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
