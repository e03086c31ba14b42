package sbom

import (
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// Format selects the SBOM format Layout writes.
type Format string

const (
	SPDX      Format = "spdx"      // SPDX 2.3 JSON (default)
	CycloneDX Format = "cyclonedx" // CycloneDX 1.6 JSON
)

// ParseFormat reads the configuration's spelling: spdx (or "") or
// cyclonedx.
func ParseFormat(s string) (Format, error) {
	switch strings.TrimSpace(s) {
	case "", "spdx":
		return SPDX, nil
	case "cyclonedx":
		return CycloneDX, nil
	}
	return "", fmt.Errorf("SBOM format %q is not supported: use spdx (default) or cyclonedx (GANTRY_SBOM_FORMAT)", s)
}

// Option configures Layout.
type Option func(*options) error

type options struct {
	name       string
	identity   string
	outDir     string
	builder    string
	provenance bool
	format     Format
	sums       map[string]string
	licenses   *licenseDetector
	config     map[string]string
	log        io.Writer
	cacheDir   string // findBinary's answers by layer digest; "" reads every layer
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{provenance: true, format: SPDX, log: io.Discard, builder: builderVersion()}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.licenses != nil && o.cacheDir != "" {
		o.licenses.cacheFile = filepath.Join(o.cacheDir, "licenses.json")
	}
	return o, nil
}

// WithCacheDir keeps what was found in each layer (the Go binary's path,
// digest and build info) in dir, by the layer's digest, so that a layer
// already described is not decompressed again; and the license
// classifier's answers, by the license text's digest, so that an unchanged
// module's license is not classified again (the classifier takes most of a
// second to load).
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithName sets the image name the documents describe (default: the
// layout directory's name).
func WithName(n string) Option {
	return func(o *options) error { o.name = n; return nil }
}

// WithIdentity sets the repository the image is published to, e.g.
// ghcr.io/org/app: the repository_url of its purl. Default: none.
func WithIdentity(repo string) Option {
	return func(o *options) error { o.identity = repo; return nil }
}

// WithOutDir also writes every document into dir (dist/sbom) as a file.
func WithOutDir(dir string) Option {
	return func(o *options) error { o.outDir = dir; return nil }
}

// WithFormat selects the SBOM format (default SPDX).
func WithFormat(f Format) Option {
	return func(o *options) error {
		if f != SPDX && f != CycloneDX {
			return fmt.Errorf("SBOM format %q is not supported: use SPDX or CycloneDX", f)
		}
		o.format = f
		return nil
	}
}

// WithGoSum supplies module checksums (go.sum's content) for the modules
// whose build info records none, as a vendored build's does not.
func WithGoSum(data []byte) Option {
	return func(o *options) error { o.sums = ParseGoSum(data); return nil }
}

// WithModuleSources detects the licenses of the main module from its
// directory mainDir and of the dependencies from their sources in
// vendorDir (the main module's vendor/) or modCache (GOMODCACHE); any may
// be "". Without it, or when a module's sources are in none, its license
// is NOASSERTION.
func WithModuleSources(mainDir, vendorDir, modCache string) Option {
	return func(o *options) error {
		if mainDir != "" || vendorDir != "" || modCache != "" {
			o.licenses = &licenseDetector{main: mainDir, vendor: vendorDir, modcache: modCache}
		}
		return nil
	}
}

// WithConfig sets the build configuration the provenance records as an
// external parameter, e.g. {"base": "static", "user": "65532:65532"}.
func WithConfig(c map[string]string) Option {
	return func(o *options) error { o.config = c; return nil }
}

// WithProvenance turns the SLSA provenance documents on (default) or off.
func WithProvenance(on bool) Option {
	return func(o *options) error { o.provenance = on; return nil }
}

// WithLog sets where progress lines go (default: nowhere).
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w != nil {
			o.log = w
		}
		return nil
	}
}

// modulePath is Gantry's module.
const modulePath = "github.com/gantrybuild/gantry"

// builderVersion is the version of the Gantry module linked into this
// program, "devel" when it is built from a work tree.
func builderVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m.Path == modulePath && m.Version != "" && m.Version != "(devel)" {
			return m.Version
		}
	}
	return "devel"
}
