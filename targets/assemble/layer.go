package assemble

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer media types for the compressions Gantry writes.
const (
	mediaTypeGzip types.MediaType = types.OCILayer     // application/vnd.oci.image.layer.v1.tar+gzip
	mediaTypeZstd types.MediaType = types.OCILayerZStd // application/vnd.oci.image.layer.v1.tar+zstd
)

func layerMediaType(compression string) (types.MediaType, error) {
	switch compression {
	case "", Gzip:
		return mediaTypeGzip, nil
	case Zstd:
		return mediaTypeZstd, nil
	}
	return "", fmt.Errorf("compression %q is not supported (valid: %q, %q)", compression, Gzip, Zstd)
}

// layerInfo is what is known about a layer blob without reading it; it is
// also the layer cache's value.
type layerInfo struct {
	Digest    v1.Hash         `json:"digest"`
	DiffID    v1.Hash         `json:"diffID"`
	Size      int64           `json:"size"`
	MediaType types.MediaType `json:"mediaType"`
}

// blobLayer is a compressed layer whose blob is already written (in an OCI
// layout, or in memory for the static base without a store).
type blobLayer struct {
	info layerInfo
	open func() (io.ReadCloser, error)
}

var _ v1.Layer = (*blobLayer)(nil)

func fileLayer(info layerInfo, file string) *blobLayer {
	return &blobLayer{info: info, open: func() (io.ReadCloser, error) { return os.Open(file) }}
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.info.Digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error)            { return l.info.DiffID, nil }
func (l *blobLayer) Size() (int64, error)                { return l.info.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.info.MediaType, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)  { return l.open() }
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	return decompress(l.info.MediaType, l.open)
}

// decompress opens the blob and returns its uncompressed stream.
func decompress(mt types.MediaType, open func() (io.ReadCloser, error)) (io.ReadCloser, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	switch mt {
	case mediaTypeGzip:
		zr, err := gzip.NewReader(bufio.NewReader(rc))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("reading gzip layer: %w", err)
		}
		return &readCloser{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	case mediaTypeZstd:
		zr, err := zstd.NewReader(rc, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("reading zstd layer: %w", err)
		}
		return &readCloser{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	}
	rc.Close()
	return nil, fmt.Errorf("layer media type %q is not one Gantry writes", mt)
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// newCompressor returns the deterministic compressor for mt writing to w.
func newCompressor(mt types.MediaType, w io.Writer) (io.WriteCloser, error) {
	switch mt {
	case mediaTypeGzip:
		// No header name, mtime or comment: the stream depends on the input only.
		return gzip.NewWriterLevel(w, gzip.BestSpeed)
	case mediaTypeZstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	}
	return nil, fmt.Errorf("layer media type %q is not one Gantry writes", mt)
}

// packLayer writes a tar, produced by fill, compressed as mt to dst in one
// pass, hashing the compressed stream (digest) and the tar (diffID) as it
// goes. Nothing is buffered beyond the compressor's window.
func packLayer(dst io.Writer, mt types.MediaType, fill func(*tar.Writer) error) (layerInfo, error) {
	digest := sha256.New()
	counted := &countingWriter{}
	diffID, err := compressTar(io.MultiWriter(digest, counted, dst), mt, fill)
	if err != nil {
		return layerInfo{}, err
	}
	return layerInfo{Digest: sum(digest), DiffID: diffID, Size: counted.n, MediaType: mt}, nil
}

// compressTar writes the tar produced by fill, compressed as mt, to dst and
// returns the tar's digest (the diffID).
func compressTar(dst io.Writer, mt types.MediaType, fill func(*tar.Writer) error) (v1.Hash, error) {
	diffID := sha256.New()
	out := bufio.NewWriterSize(dst, 256<<10)
	zw, err := newCompressor(mt, out)
	if err != nil {
		return v1.Hash{}, err
	}
	tw := tar.NewWriter(io.MultiWriter(diffID, zw))
	if err := fill(tw); err != nil {
		return v1.Hash{}, err
	}
	if err := tw.Close(); err != nil {
		return v1.Hash{}, fmt.Errorf("finishing tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return v1.Hash{}, fmt.Errorf("finishing compression: %w", err)
	}
	if err := out.Flush(); err != nil {
		return v1.Hash{}, err
	}
	return sum(diffID), nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// tarHeader returns a normalised header: owner root (or uid/gid), no user or
// group names, mtime t (whole seconds, no atime/ctime), USTAR-compatible PAX
// so that no PAX record carries a time.
func tarHeader(name string, typ byte, mode, size int64, uid int, t time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     mode,
		Size:     size,
		Uid:      uid,
		Gid:      uid,
		ModTime:  t,
		Format:   tar.FormatPAX,
	}
}

// dirHeaders returns directory entries (mode 0755, owned by root) for every
// parent of the slash-separated relative path p, outermost first.
func dirHeaders(p string, t time.Time) []*tar.Header {
	var hs []*tar.Header
	for i, c := range p {
		if c == '/' {
			hs = append(hs, tarHeader(p[:i+1], tar.TypeDir, 0o755, 0, 0, t))
		}
	}
	return hs
}

// inImagePath returns the binary's path in the image, validating both parts.
func inImagePath(binDir, name string) (string, error) {
	if binDir == "" {
		binDir = DefaultBinDir
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return "", fmt.Errorf("binary name %q is not a file name", name)
	}
	if !path.IsAbs(binDir) || path.Clean(binDir) != binDir {
		return "", fmt.Errorf("bin dir %q must be an absolute, clean path such as %q", binDir, DefaultBinDir)
	}
	return path.Join(binDir, name), nil
}

// fillBinary writes the binary's parent directories and the binary (0755)
// at p (absolute) with mtime t, copying exactly size bytes from r.
func fillBinary(ctx context.Context, r io.Reader, size int64, p string, t time.Time) func(*tar.Writer) error {
	return func(tw *tar.Writer) error {
		name := strings.TrimPrefix(p, "/")
		for _, h := range append(dirHeaders(name, t), tarHeader(name, tar.TypeReg, 0o755, size, 0, t)) {
			if err := tw.WriteHeader(h); err != nil {
				return fmt.Errorf("writing tar header %s: %w", h.Name, err)
			}
		}
		if _, err := io.CopyN(tw, ctxReader{ctx, r}, size); err != nil {
			return fmt.Errorf("copying binary into layer: %w", err)
		}
		return nil
	}
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// normTime is the timestamp Gantry writes for t: UTC (so the builder's time
// zone never reaches a digest), whole seconds (so tar needs no PAX time
// record), and the Unix epoch for the zero time.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC().Truncate(time.Second)
}
