package assemble

import (
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
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

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

	app, err := appLayer(ctx, &req, inImage, created, mt)
	if err != nil {
		return nil, err
	}
	appDiffID, err := app.DiffID()
	if err != nil {
		return nil, err
	}

	layers := make([]v1.Layer, 0, len(baseLayers)+1)
	for _, l := range baseLayers {
		if l, err = withOCIMediaType(l); err != nil {
			return nil, fmt.Errorf("reading base layer: %w", err)
		}
		layers = append(layers, l)
	}
	layers = append(layers, app)

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
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: append(slices.Clone(baseCfg.RootFS.DiffIDs), appDiffID)},
		History: append(baseHistory(baseCfg, len(baseLayers), req.Base), v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: fmt.Sprintf("gantry: COPY %s %s", filepath.Base(req.Binary), entrypoint),
		}),
	}
	img, err := ociImage(layers, cfg)
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
		User:         cmp.Or(req.User, DefaultUser),
		WorkingDir:   cmp.Or(req.WorkingDir, DefaultWorkingDir),
		Env:          mergeEnv(base.Env, req.Base.Certs),
		ExposedPorts: maps.Clone(base.ExposedPorts),
		Volumes:      maps.Clone(base.Volumes),
		StopSignal:   base.StopSignal,
		Shell:        slices.Clone(base.Shell),
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
	c.WorkingDir = cmp.Or(req.WorkingDir, base.WorkingDir)
	c.Env = windowsEnv(base.Env, windowsPath(path.Dir(entrypoint)))
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
