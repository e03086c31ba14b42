// Package assemble builds a platform image: a base image plus one
// deterministic layer holding the binary, with a config a user expects
// (entrypoint, non-root user, env, labels, history).
//
// Nothing here reads the wall clock: every timestamp is Request.Created or,
// for the generated static base, the Unix epoch. Images always have OCI
// manifest and config media types. The static base depends only on the Go
// toolchain (its lib/time/zoneinfo.zip) and the x509roots/fallback module, so
// its diffID changes when one of those is upgraded, and only then (its
// digest also with klauspost/compress).
package assemble

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/assets"
	"github.com/gantrybuild/gantry/targets/ocidir"
)

// Compression of the layers Gantry writes.
const (
	Gzip = "gzip" // klauspost/compress gzip at BestSpeed, deterministic
	Zstd = "zstd" // klauspost/compress zstd at SpeedFastest, single-threaded
)

// Defaults applied by Image.
const (
	DefaultBinDir     = "/usr/local/bin"
	DefaultUser       = "65532:65532" // nonroot in the static base's /etc/passwd
	DefaultWorkingDir = "/"
	DefaultPath       = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	CertFile          = "/etc/ssl/certs/ca-certificates.crt"
)

// OCI annotation keys for the base image (image-spec annotations.md).
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// Request describes one platform image.
type Request struct {
	Store       *ocidir.Dir       // layers Gantry creates are streamed straight into this layout
	Binary      string            // path of the compiled binary on disk
	Name        string            // the binary's name in the image
	BinDir      string            // directory in the image; "" means /usr/local/bin
	Platform    v1.Platform       // the binary's platform (goes into the config)
	Base        Base              // resolved with ResolveBase for this platform
	User        string            // "" means 65532:65532
	WorkingDir  string            // "" means "/"
	Created     time.Time         // config created, history, layer mtimes; zero means the Unix epoch; kept in UTC, whole seconds
	Labels      map[string]string // config labels (OCI annotations keys); base labels are dropped
	Annotations map[string]string // manifest annotations (exactly these; see Base.Annotations)
	Compression string            // Gzip (default) or Zstd
	CacheDir    string            // layer cache (e.g. dist/cache); "" disables it

	// What the image carries besides the binary.
	Files      []assets.Entry // in a layer of their own below the binary's (package assets resolves them; assets.Sum fills in their digests)
	FilesTime  time.Time      // their mtime; zero means the Unix epoch, so that a new commit does not change the layer (see filesLayer)
	Env        []string       // KEY=value, over the base's (a key the base sets is replaced in place)
	Cmd        []string       // default arguments after the entrypoint
	Ports      []string       // exposed ports, as 8080/tcp, added to the base's
	StopSignal string         // "" keeps the base's

	onPack func() // test seam: called each time a layer is actually tarred and compressed
}

// Base is a resolved base image for one platform.
type Base struct {
	Image  v1.Image // the base image (for static/scratch: built here)
	Name   string   // reference recorded as org.opencontainers.image.base.name ("" for scratch/static)
	Digest v1.Hash  // manifest digest recorded as base.digest (zero for scratch/static)
	Certs  bool     // base carries a CA bundle: SSL_CERT_FILE goes into Env
}

// Annotations returns the base.name and base.digest annotations for b (only
// those that are known), for callers assembling Request.Annotations.
func (b Base) Annotations() map[string]string {
	a := map[string]string{}
	if b.Name != "" {
		a[AnnotationBaseName] = b.Name
	}
	if b.Digest != (v1.Hash{}) {
		a[AnnotationBaseDigest] = b.Digest.String()
	}
	return a
}

// ResolveBase resolves spec for platform: "static" (default when spec is
// ""), "scratch", "oci:<dir>[:<ref>]" or a registry reference. Multi-arch
// bases are resolved to the platform's manifest and pinned by digest.
//
// A registry reference must contain "/", ":" or "@" (a bare word is taken
// for a mistyped keyword); Name records it as "<registry>/<repo>[:<tag>]".
// An oci: base never records its directory, which is machine-specific.
// Variants match as the runtime would: an amd64 (v1) or arm64 (v8) base
// serves any amd64 or arm64 variant, arm v6 serves v7, and so on.
func ResolveBase(ctx context.Context, spec string, platform v1.Platform, opts ...BaseOption) (Base, error) {
	o := baseOptions{goBin: "go", compression: Gzip, keychain: authn.DefaultKeychain}
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := layerMediaType(o.compression); err != nil {
		return Base{}, err
	}
	switch {
	case (spec == "" || spec == "static" || spec == "scratch") && platform.OS == "windows":
		return Base{}, fmt.Errorf("base %q is linux-only: a %s image needs a Windows base from a registry or an oci: layout (nanoserver or servercore)", cmp.Or(spec, "static"), platform)
	case spec == "" || spec == "static":
		return staticBase(ctx, platform, &o)
	case spec == "scratch":
		return scratchBase(platform)
	case strings.HasPrefix(spec, "oci:"):
		return ociBase(spec, platform)
	}
	return registryBase(ctx, spec, platform, &o)
}

// BaseOption configures ResolveBase (e.g. remote options for tests, a store
// to cache the static base layer).
type BaseOption func(*baseOptions)

type baseOptions struct {
	remote      []remote.Option
	keychain    authn.Keychain
	auth        authn.Authenticator
	store       *ocidir.Dir
	cacheDir    string
	compression string
	goroot      string
	goBin       string
	onPack      func() // test seam, as Request.onPack
}

// WithRemoteOptions adds options for registry bases (transport, user
// agent…); ResolveBase passes the context itself. Give credentials with
// WithKeychain or WithAuth, not here: ggcr refuses both kinds at once.
func WithRemoteOptions(opts ...remote.Option) BaseOption {
	return func(o *baseOptions) { o.remote = append(o.remote, opts...) }
}

// WithKeychain sets where registry credentials come from
// (authn.DefaultKeychain, i.e. the Docker config, by default).
func WithKeychain(k authn.Keychain) BaseOption {
	return func(o *baseOptions) { o.keychain, o.auth = k, nil }
}

// WithAuth sets the registry credentials, instead of a keychain.
func WithAuth(a authn.Authenticator) BaseOption {
	return func(o *baseOptions) { o.auth, o.keychain = a, nil }
}

// WithStore streams the static base layer into store, so it is written once
// and reused (with WithCacheDir) instead of being held in memory.
func WithStore(store *ocidir.Dir) BaseOption {
	return func(o *baseOptions) { o.store = store }
}

// WithCacheDir caches the static base layer's digest (as Request.CacheDir).
func WithCacheDir(dir string) BaseOption {
	return func(o *baseOptions) { o.cacheDir = dir }
}

// WithCompression sets the static base layer's compression (Gzip default).
func WithCompression(c string) BaseOption {
	return func(o *baseOptions) { o.compression = c }
}

// WithGOROOT names the Go root whose lib/time/zoneinfo.zip goes into the
// static base; by default it is `go env GOROOT` (see WithGoBin).
func WithGOROOT(dir string) BaseOption {
	return func(o *baseOptions) { o.goroot = dir }
}

// WithGoBin sets the go command asked for GOROOT ("go" by default): use the
// toolchain that compiles the binaries.
func WithGoBin(goBin string) BaseOption {
	return func(o *baseOptions) {
		if goBin != "" {
			o.goBin = goBin
		}
	}
}

// baseSpecHelp lists the valid base forms for error messages.
const baseSpecHelp = `valid: "static" (default), "scratch", "oci:<dir>[:<ref>]" or a registry reference such as "cgr.dev/chainguard/static:latest"`

func badSpec(spec, why string) error {
	return fmt.Errorf("base %q: %s (%s)", spec, why, baseSpecHelp)
}
