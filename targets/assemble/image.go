package assemble

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/assets"
	"github.com/gantrybuild/gantry/targets/platform"
)

// Image builds the platform image. The application layer is tar'd,
// compressed and hashed in one streaming pass straight into req.Store (an
// unchanged binary, found through the cache by its digest, is not re-tarred
// or re-compressed). The returned image's layers are in req.Store except the
// base's, which ocidir.Dir.WriteImage copies.
//
// The image always has OCI manifest and config media types; a base's Docker
// schema 2 layers are listed with their OCI equivalents (same bytes, same
// digests). Its config is rebuilt rather than inherited: the platform,
// created time and history are the request's, Labels are exactly
// req.Labels, manifest annotations exactly req.Annotations (use
// Base.Annotations for base.name/base.digest), Env is the base's plus PATH
// and SSL_CERT_FILE when missing, and of the base's other settings only
// ExposedPorts, Volumes, StopSignal and Shell are kept. A windows image's
// layer is laid out for the Windows snapshotter (windows.go), its binary is
// <name>.exe in C:\app (or BinDir), its directory leads PATH, the base's
// user and working directory stay unless the request sets them, and the
// config carries the base's os.version and os.features.
func Image(ctx context.Context, req Request) (v1.Image, error) {
	switch {
	case req.Store == nil:
		return nil, errors.New("assemble: request has no store to write layers to")
	case req.Base.Image == nil:
		return nil, errors.New("assemble: request has no base image: resolve one with ResolveBase")
	case req.Binary == "":
		return nil, errors.New("assemble: request has no binary")
	case !req.Created.IsZero() && req.Created.Before(time.Unix(0, 0)):
		return nil, fmt.Errorf("created time %s is before 1970", req.Created)
	}
	windows := platform.IsWindows(req.Platform)
	binDir, binName := req.BinDir, req.Name
	if windows {
		binDir = cmp.Or(binDir, DefaultWindowsBinDir)
		if !strings.HasSuffix(strings.ToLower(binName), ".exe") {
			binName += ".exe"
		}
	}
	inImage, err := inImagePath(binDir, binName)
	if err != nil {
		return nil, err
	}
	mt, err := layerMediaType(req.Compression)
	if err != nil {
		return nil, err
	}
	created := normTime(req.Created)

	baseCfg, err := req.Base.Image.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base config: %w", err)
	}
	baseLayers, err := req.Base.Image.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading base layers: %w", err)
	}
	if len(baseCfg.RootFS.DiffIDs) != len(baseLayers) {
		return nil, fmt.Errorf("base config lists %d diff_ids for %d layers", len(baseCfg.RootFS.DiffIDs), len(baseLayers))
	}

	files, err := filesLayer(ctx, &req, mt, windows)
	if err != nil {
		return nil, err
	}
	app, err := appLayer(ctx, &req, inImage, created, mt)
	if err != nil {
		return nil, err
	}

	diffIDs := slices.Clone(baseCfg.RootFS.DiffIDs)
	history := baseHistory(baseCfg, len(baseLayers), req.Base)
	adds := make([]mutate.Addendum, 0, len(baseLayers)+2)
	for _, l := range baseLayers {
		if l, err = withOCIMediaType(l); err != nil {
			return nil, fmt.Errorf("reading base layer: %w", err)
		}
		adds = append(adds, mutate.Addendum{Layer: l})
	}
	if files != nil {
		d, err := files.DiffID()
		if err != nil {
			return nil, err
		}
		diffIDs = append(diffIDs, d)
		history = append(history, v1.History{Created: v1.Time{Time: created}, CreatedBy: fmt.Sprintf("gantry: COPY %d files", countFiles(req.Files))})
		adds = append(adds, mutate.Addendum{Layer: files, Annotations: map[string]string{FilesLayerAnnotation: FilesLayerValue}})
	}
	appDiffID, err := app.DiffID()
	if err != nil {
		return nil, err
	}
	adds = append(adds, mutate.Addendum{Layer: app})

	runtimeCfg, entrypoint := imageConfig(baseCfg.Config, &req, inImage), inImage
	osVersion, osFeatures := req.Platform.OSVersion, req.Platform.OSFeatures
	if windows {
		runtimeCfg, entrypoint = windowsImageConfig(baseCfg.Config, &req, inImage), windowsPath(inImage)
		// The host build a runtime matches: the base's, as every Windows
		// image's layers must run on the kernel its base was made for.
		osVersion = cmp.Or(osVersion, baseCfg.OSVersion)
		if len(osFeatures) == 0 {
			osFeatures = baseCfg.OSFeatures
		}
	}
	cfg := &v1.ConfigFile{
		Architecture: req.Platform.Architecture,
		OS:           req.Platform.OS,
		OSVersion:    osVersion,
		OSFeatures:   slices.Clone(osFeatures),
		Variant:      req.Platform.Variant,
		Created:      v1.Time{Time: created},
		Config:       runtimeCfg,
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: append(diffIDs, appDiffID)},
		History: append(history, v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: fmt.Sprintf("gantry: COPY %s %s", filepath.Base(req.Binary), entrypoint),
		}),
	}
	img, err := ociImageOf(adds, cfg)
	if err != nil {
		return nil, err
	}
	if len(req.Annotations) > 0 {
		img = mutate.Annotations(img, maps.Clone(req.Annotations)).(v1.Image)
	}
	return img, nil
}

// imageConfig is the runtime config: the binary as entrypoint, the
// request's user and working dir, the base's env completed, the request's
// labels (base labels describe the base, not this image: all are dropped).
func imageConfig(base v1.Config, req *Request, entrypoint string) v1.Config {
	c := v1.Config{
		Entrypoint:   []string{entrypoint},
		Cmd:          slices.Clone(req.Cmd),
		User:         cmp.Or(req.User, DefaultUser),
		WorkingDir:   cmp.Or(req.WorkingDir, DefaultWorkingDir),
		Env:          setEnv(mergeEnv(base.Env, req.Base.Certs), req.Env, false),
		ExposedPorts: maps.Clone(base.ExposedPorts),
		Volumes:      maps.Clone(base.Volumes),
		StopSignal:   cmp.Or(req.StopSignal, base.StopSignal),
		Shell:        slices.Clone(base.Shell),
	}
	for _, p := range req.Ports {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
	if len(req.Labels) > 0 {
		c.Labels = maps.Clone(req.Labels)
	}
	return c
}

// windowsImageConfig is imageConfig for a windows image: the entrypoint as
// a Windows path (C:\app\x.exe) whose directory leads PATH, and the base's
// user (ContainerUser on nanoserver; Linux's 65532 means nothing there) and
// working directory unless the request sets them.
func windowsImageConfig(base v1.Config, req *Request, entrypoint string) v1.Config {
	c := imageConfig(base, req, windowsPath(entrypoint))
	c.User = cmp.Or(req.User, base.User)
	wd := req.WorkingDir
	if strings.HasPrefix(wd, "/") {
		wd = windowsPath(wd) // an image path, as Files' destinations: /srv → C:\srv
	}
	c.WorkingDir = cmp.Or(wd, base.WorkingDir)
	c.Env = setEnv(windowsEnv(base.Env, windowsPath(path.Dir(entrypoint))), req.Env, true)
	return c
}

// mergeEnv keeps the base's env in order and adds PATH (the default, when
// the base has none) and SSL_CERT_FILE (when the base has a CA bundle and
// does not set it).
func mergeEnv(base []string, certs bool) []string {
	env := slices.Clone(base)
	has := func(key string) bool {
		return slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, key+"=") })
	}
	if !has("PATH") {
		env = append(env, "PATH="+DefaultPath)
	}
	if certs && !has("SSL_CERT_FILE") {
		env = append(env, "SSL_CERT_FILE="+CertFile)
	}
	return env
}

// setEnv sets each KEY=value of over in env: in place where env has the
// key (Windows names ignore case), else appended in over's order.
func setEnv(env, over []string, windows bool) []string {
	env = slices.Clone(env)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(env, func(e string) bool {
			ek, _, _ := strings.Cut(e, "=")
			return ek == k || (windows && strings.EqualFold(ek, k))
		})
		if i >= 0 {
			env[i] = kv
		} else {
			env = append(env, kv)
		}
	}
	return env
}

// countFiles counts the regular files among entries.
func countFiles(entries []assets.Entry) int {
	n := 0
	for _, e := range entries {
		if e.Type == tar.TypeReg {
			n++
		}
	}
	return n
}

// ociImageOf is an image of the layers (with their manifest annotations)
// and cfg, with OCI media types.
func ociImageOf(adds []mutate.Addendum, cfg *v1.ConfigFile) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, cfg)
}

// baseHistory returns the base's history when it describes its layers
// (one non-empty entry per layer), else one entry per layer naming the base.
func baseHistory(cfg *v1.ConfigFile, layers int, base Base) []v1.History {
	nonEmpty := 0
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty == layers {
		return slices.Clone(cfg.History)
	}
	what := base.Name
	if base.Digest != (v1.Hash{}) {
		what = strings.TrimPrefix(what+"@"+base.Digest.String(), "@")
	}
	hs := make([]v1.History, layers)
	for i := range hs {
		hs[i] = v1.History{Created: cfg.Created, CreatedBy: strings.TrimSpace("gantry: base layer " + what)}
	}
	return hs
}

// ociMediaTypes maps Docker schema 2 layer media types to their OCI twins.
var ociMediaTypes = map[types.MediaType]types.MediaType{
	types.DockerLayer:             types.OCILayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
	types.DockerForeignLayer:      types.OCIRestrictedLayer,
}

// withOCIMediaType returns l listed with the OCI media type for its content.
func withOCIMediaType(l v1.Layer) (v1.Layer, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, err
	}
	if oci, ok := ociMediaTypes[mt]; ok {
		return &mediaTypeLayer{Layer: l, mt: oci}, nil
	}
	return l, nil
}

type mediaTypeLayer struct {
	v1.Layer
	mt types.MediaType
}

var _ v1.Layer = (*mediaTypeLayer)(nil)

func (l *mediaTypeLayer) MediaType() (types.MediaType, error) { return l.mt, nil }

// Descriptor is the base manifest's descriptor of the layer with the OCI
// media type: a foreign layer keeps its URLs (and any annotations), so
// runtimes can still fetch it from where its owner serves it.
func (l *mediaTypeLayer) Descriptor() (*v1.Descriptor, error) {
	d, err := partial.Descriptor(l.Layer)
	if err != nil {
		return nil, err
	}
	d.MediaType = l.mt
	return d, nil
}
