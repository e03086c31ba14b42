package assemble

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// staticEpoch is the mtime of every file in the static base and its
// config's created time. The base's content depends only on the Go
// toolchain (tzdata) and the x509roots module (CA bundle), never on the
// commit being built, so a constant keeps its digest stable across commits
// and machines; the Unix epoch is what distroless and ko use for the same.
var staticEpoch = time.Unix(0, 0).UTC()

const staticCreatedBy = "gantry: static base (passwd, group, CA certificates, tzdata)"

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group       = "root:x:0:\nnonroot:x:65532:\n"
	nsswitch    = "hosts: files dns\n"
	nonrootUID  = 65532
	zoneinfoDir = "usr/share/zoneinfo/"
)

// staticEntry is one tar entry of the static base: a header and, for a
// regular file, where its content comes from.
type staticEntry struct {
	hdr  *tar.Header
	data []byte
	zf   *zip.File
}

// staticEntries lists the static base's entries, sorted by name, with
// zoneinfo read from zr (GOROOT's lib/time/zoneinfo.zip).
func staticEntries(zr *zip.Reader) ([]staticEntry, error) {
	t := staticEpoch
	file := func(name, content string) staticEntry {
		return staticEntry{hdr: tarHeader(name, tar.TypeReg, 0o644, int64(len(content)), 0, t), data: []byte(content)}
	}
	dir := func(name string, mode int64, uid int) staticEntry {
		return staticEntry{hdr: tarHeader(name, tar.TypeDir, mode, 0, uid, t)}
	}
	certs, err := caBundle()
	if err != nil {
		return nil, err
	}
	entries := []staticEntry{
		dir("etc/", 0o755, 0),
		file("etc/group", group),
		file("etc/nsswitch.conf", nsswitch),
		file("etc/passwd", passwd),
		dir("etc/ssl/", 0o755, 0),
		dir("etc/ssl/certs/", 0o755, 0),
		file(strings.TrimPrefix(CertFile, "/"), string(certs)),
		dir("home/", 0o755, 0),
		dir("home/nonroot/", 0o755, nonrootUID),
		dir("root/", 0o700, 0),
		dir("tmp/", 0o1777, 0),
	}
	dirs := map[string]bool{}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue // directories are generated from the files' paths
		}
		if !fs.ValidPath(zf.Name) || zf.UncompressedSize64 > 1<<20 {
			return nil, fmt.Errorf("zoneinfo.zip: unexpected entry %q", zf.Name)
		}
		name := zoneinfoDir + zf.Name
		for _, h := range dirHeaders(name, t) {
			if !dirs[h.Name] {
				dirs[h.Name] = true
				entries = append(entries, staticEntry{hdr: h})
			}
		}
		entries = append(entries, staticEntry{hdr: tarHeader(name, tar.TypeReg, 0o644, int64(zf.UncompressedSize64), 0, t), zf: zf})
	}
	slices.SortFunc(entries, func(a, b staticEntry) int { return strings.Compare(a.hdr.Name, b.hdr.Name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].hdr.Name == entries[i-1].hdr.Name {
			return nil, fmt.Errorf("static base: duplicate entry %s", entries[i].hdr.Name)
		}
	}
	return entries, nil
}

// caBundle renders the x509roots/fallback roots as PEM, in the module's
// order. Roots that carry a constraint (e.g. NSS "distrust after") are left
// out: a PEM bundle cannot express the constraint, and trusting them
// unconstrained would trust more than the module does.
func caBundle() ([]byte, error) {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

func fillStatic(entries []staticEntry) func(*tar.Writer) error {
	return func(tw *tar.Writer) error {
		for _, e := range entries {
			if err := tw.WriteHeader(e.hdr); err != nil {
				return fmt.Errorf("writing tar header %s: %w", e.hdr.Name, err)
			}
			switch {
			case e.zf != nil:
				rc, err := e.zf.Open()
				if err != nil {
					return fmt.Errorf("zoneinfo.zip: %w", err)
				}
				_, err = io.Copy(tw, rc)
				rc.Close()
				if err != nil {
					return fmt.Errorf("zoneinfo.zip %s: %w", e.zf.Name, err)
				}
			case e.data != nil:
				if _, err := tw.Write(e.data); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// goroot returns the Go root the tzdata comes from: the option, else `go env
// GOROOT` of the toolchain that compiles the binaries (read once per
// process). (runtime.GOROOT is deprecated and empty in a program built with
// -trimpath.) The static base therefore changes when the toolchain's tzdata
// does, and only then.
func goroot(ctx context.Context, o *baseOptions) (string, error) {
	if o.goroot != "" {
		return o.goroot, nil
	}
	vars, err := goenv.Read(ctx, o.goBin, "", nil)
	if err != nil {
		return "", fmt.Errorf("finding GOROOT for the static base's tzdata: %w (set the go command with WithGoBin or the root with WithGOROOT)", err)
	}
	return vars.GOROOT, nil
}

// staticDiffID returns the diffID of the static layer built from the
// zoneinfo.zip at zipPath: one uncompressed pass over its tar, remembered in
// cacheDir ("": in memory) for as long as zoneinfo.zip is unchanged (see
// statcache) and the CA bundle and tar format are the same.
func staticDiffID(zipPath, cacheDir string) (v1.Hash, error) {
	certs, err := caBundle()
	if err != nil {
		return v1.Hash{}, err
	}
	kind := fmt.Sprintf("static-diffid-v%d-%x", cacheFormat, sha256.Sum256(certs))[:48]
	file := ""
	if cacheDir != "" {
		file = filepath.Join(cacheDir, "static.txt")
	}
	stats := statcache.Load(file)
	v, err := stats.Value(zipPath, kind, func(r io.Reader) (string, error) {
		b, err := io.ReadAll(r)
		if err != nil {
			return "", err
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return "", err
		}
		entries, err := staticEntries(zr)
		if err != nil {
			return "", fmt.Errorf("static base from %s: %w", zipPath, err)
		}
		h := sha256.New()
		tw := tar.NewWriter(h)
		if err := fillStatic(entries)(tw); err != nil {
			return "", err
		}
		if err := tw.Close(); err != nil {
			return "", err
		}
		return sum(h).String(), nil
	})
	if err != nil {
		return v1.Hash{}, fmt.Errorf("static base tzdata: %w", err)
	}
	_ = stats.Save() // not saving only costs another pass
	return v1.NewHash(v)
}

// staticLayer returns the static base layer: from the cache (keyed by its
// diffID) when its blob is in the store, else packed into the store, or
// into memory without a store.
func staticLayer(ctx context.Context, o *baseOptions) (v1.Layer, error) {
	root, err := goroot(ctx, o)
	if err != nil {
		return nil, err
	}
	zipPath := filepath.Join(root, "lib", "time", "zoneinfo.zip")
	mt, err := layerMediaType(o.compression)
	if err != nil {
		return nil, err
	}

	cache := layerCache{dir: o.cacheDir}
	var key string
	if cache.dir != "" && o.store != nil {
		diffID, err := staticDiffID(zipPath, cache.dir)
		if err != nil {
			return nil, err
		}
		key = cacheKey("static", "diffID "+diffID.String(), "media type "+string(mt))
		info, ok, err := cache.lookup(o.store, key)
		if err != nil {
			return nil, err
		}
		if ok {
			return fileLayer(info, o.store.BlobPath(info.Digest)), nil
		}
	}

	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("static base tzdata: %w", err)
	}
	defer zr.Close()
	entries, err := staticEntries(&zr.Reader)
	if err != nil {
		return nil, fmt.Errorf("static base from %s: %w", zipPath, err)
	}
	fill := fillStatic(entries)
	if o.onPack != nil {
		o.onPack()
	}
	if o.store == nil {
		var buf bytes.Buffer // the static layer is a few hundred KB
		info, err := packLayer(&buf, mt, fill)
		if err != nil {
			return nil, fmt.Errorf("packing static base: %w", err)
		}
		b := buf.Bytes()
		return &blobLayer{info: info, open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}, nil
	}
	info, err := packToStore(o.store, mt, fill)
	if err != nil {
		return nil, fmt.Errorf("packing static base: %w", err)
	}
	if err := cache.store(key, info); err != nil {
		return nil, err
	}
	return fileLayer(info, o.store.BlobPath(info.Digest)), nil
}

func staticBase(ctx context.Context, platform v1.Platform, o *baseOptions) (Base, error) {
	layer, err := staticLayer(ctx, o)
	if err != nil {
		return Base{}, err
	}
	cfg := baseConfig(platform)
	cfg.Config.Env = []string{"PATH=" + DefaultPath, "SSL_CERT_FILE=" + CertFile}
	cfg.History = []v1.History{{Created: v1.Time{Time: staticEpoch}, CreatedBy: staticCreatedBy}}
	diffID, err := layer.DiffID()
	if err != nil {
		return Base{}, err
	}
	cfg.RootFS.DiffIDs = []v1.Hash{diffID}
	img, err := ociImage([]v1.Layer{layer}, cfg)
	if err != nil {
		return Base{}, err
	}
	return Base{Image: img, Certs: true}, nil
}

func scratchBase(platform v1.Platform) (Base, error) {
	img, err := ociImage(nil, baseConfig(platform))
	if err != nil {
		return Base{}, err
	}
	return Base{Image: img}, nil
}

// baseConfig is the config of a base generated here for platform.
func baseConfig(platform v1.Platform) *v1.ConfigFile {
	return &v1.ConfigFile{
		Created:      v1.Time{Time: staticEpoch},
		OS:           platform.OS,
		Architecture: platform.Architecture,
		Variant:      platform.Variant,
		OSVersion:    platform.OSVersion,
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}},
	}
}

// ociImage returns an image with OCI manifest and config media types made
// of layers (in order) and cfg, whose RootFS and History are used as given.
func ociImage(layers []v1.Layer, cfg *v1.ConfigFile) (v1.Image, error) {
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l}
	}
	return ociImageOf(adds, cfg)
}
