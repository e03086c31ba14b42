package config

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Var is one environment variable Gantry reads. Every variable is declared
// here, and only this package reads the environment, so `go tool mage config` can
// list every knob and logs can redact the secret ones.
type Var struct {
	Name        string
	Description string
	Secret      bool
	// EmptyUnset makes a set but empty value mean unset (a CI expression
	// such as GANTRY_REPO on pull requests yields ""). For every other
	// GANTRY_* variable an empty value is an error: it is a template
	// that expanded to nothing, and building the defaults instead would
	// build what nobody asked for.
	EmptyUnset bool
}

// Vars lists every environment variable Gantry reads, in the order `go tool
// mage config` prints them.
func Vars() []Var { return slices.Clone(vars) }

var vars = []Var{
	{Name: "GANTRY_PLATFORMS", Description: "comma-separated platforms to build (default linux/amd64,linux/arm64), e.g. linux/amd64,linux/arm64,linux/arm/v7,windows/amd64 (windows needs GANTRY_BASES)"},
	{Name: "GANTRY_MAIN", Description: "main package to build, relative to the module (e.g. ./cmd/server); one image only"},
	{Name: "GANTRY_IMAGE", Description: "image name with one image configured; with several, a comma-separated list of the images to build"},
	{Name: "GANTRY_BASE", Description: "base image: static (default), scratch, a registry reference, or oci:<dir>[:<ref>]"},
	{Name: "GANTRY_BASES", Description: "per-OS or per-platform bases over GANTRY_BASE, comma-separated, e.g. windows=oci:bases/nanoserver,windows/arm64=<registry>/windows/nanoserver:ltsc2025; a windows platform needs one"},
	{Name: "GANTRY_MAX_FILE_SIZE", Description: "largest file an image's Files (and kodata/) may add, in bytes or with KiB, MiB, GiB (e.g. 50MiB); over every image's MaxFileSize"},
	{Name: "GANTRY_OUT", Description: "output directory (default dist)"},
	{Name: "GANTRY_TAGS", Description: "extra comma-separated tags for the image, besides the version", EmptyUnset: true},
	{Name: "GANTRY_ALLOW_DIRTY", Description: "set to 1 to let release build from a work tree with uncommitted changes", EmptyUnset: true},
	{Name: "GANTRY_REQUIRE_VENDOR", Description: "set to 1 to make vendor:check fail when a module has no vendor/ directory", EmptyUnset: true},
	{Name: "GANTRY_INDEX_FROM", Description: "comma-separated OCI layouts (per-platform builds from other runners) to merge into one index; a glob such as dist/layouts/* stands for the directories it matches; release then merges instead of building (a split pipeline's merge job)"},
	{Name: "GANTRY_COMPRESSION", Description: "layer compression: gzip (default) or zstd"},
	{Name: "GANTRY_JOBS", Description: "how many platforms compile at once (default: the number of CPUs)"},
	{Name: "SOURCE_DATE_EPOCH", Description: "Unix time used as the image creation time (default: the commit time)"},
	{Name: "GANTRY_REPO", Description: "where push publishes, e.g. ghcr.io/org/app (comma-separated for several; with several images, prefixes the image name is appended to); unset: release stays offline", EmptyUnset: true},
	{Name: "GANTRY_SEMVER_TAGS", Description: "tags a release version vX.Y.Z adds: patch (X.Y.Z), minor (X.Y), major (X), latest (only when it is the highest release in the repository); default all, none for none"},
	{Name: "GANTRY_ARCH_TAGS", Description: "per-platform tags <tag>-<suffix>: go (default: amd64, arm64, armv7), uname (x86_64, aarch64, armv7l), none, or pairs such as amd64=x86_64,arm64=aarch64"},
	{Name: "GANTRY_IMMUTABLE_TAGS", Description: "set to 1 to fail, before uploading anything, when a version tag already names other content", EmptyUnset: true},
	{Name: "GANTRY_INSECURE_REGISTRIES", Description: "comma-separated registries (host[:port]) push may reach over plain HTTP; loopback addresses always may", EmptyUnset: true},
	{Name: "GANTRY_PUSH_STALE", Description: "set to 1 to let push publish a layout built from another commit than the work tree's HEAD (refused by default; outside a git work tree nothing is compared)", EmptyUnset: true},
	{Name: "GANTRY_PUSH_JOBS", Description: "how many blobs and manifests push uploads at once (default 4)"},
	{Name: "GANTRY_PUSH_RETRY_BUDGET", Description: "no retry starts later than this after a push began (default 10m)"},
	{Name: "GANTRY_PROGRESS", Description: "push progress: auto (default: live on a terminal, log lines otherwise), live, plain or quiet"},
	{Name: "GANTRY_REGISTRY_USERNAME", Description: "user name for the destination registries (with GANTRY_REGISTRY_PASSWORD); unset: docker login credentials and helpers", EmptyUnset: true},
	{Name: "GANTRY_REGISTRY_PASSWORD", Description: "password or token for GANTRY_REGISTRY_USERNAME", Secret: true, EmptyUnset: true},
	{Name: "GANTRY_SIGN_KEY", Description: "signing key: a cosign key file, a PEM private key file, env://VAR (a variable holding either), or a KMS URI such as hashivault://release; unset: release skips signing", Secret: true, EmptyUnset: true},
	{Name: "COSIGN_PASSWORD", Description: "password of the cosign key file in GANTRY_SIGN_KEY; keygen encrypts the new key with it", Secret: true},
	{Name: "GANTRY_SIGN_FORMAT", Description: "signature formats: both (default), bundle (sigstore bundle as an OCI referrer) or legacy (cosign's sha256-<hex>.sig)"},
	{Name: "GANTRY_VERIFY_KEY", Description: "public key verify:signature checks: a PEM file such as cosign.pub, env://VAR, or a KMS URI (default: the public half of GANTRY_SIGN_KEY)"},
	{Name: "GANTRY_VERIFY_IMAGE", Description: "a pushed image (e.g. ghcr.io/org/app:v1.2.3) for verify:signature to check instead of the layouts in dist/oci", EmptyUnset: true},
	{Name: "GANTRY_SIGN_KEYLESS", Description: "set to 1 to sign keyless: an ephemeral key certified by Fulcio for the CI job's OIDC identity, timestamped and logged (instead of GANTRY_SIGN_KEY)", EmptyUnset: true},
	{Name: "SIGSTORE_ID_TOKEN", Description: "OIDC identity token for keyless signing (GitLab: declare it in id_tokens with aud sigstore); read before GitHub Actions' token request", Secret: true},
	{Name: "ACTIONS_ID_TOKEN_REQUEST_URL", Description: "set by GitHub Actions in jobs with `permissions: id-token: write`: where keyless signing asks for its identity token (audience sigstore)"},
	{Name: "ACTIONS_ID_TOKEN_REQUEST_TOKEN", Description: "set by GitHub Actions with ACTIONS_ID_TOKEN_REQUEST_URL: the bearer token of that request", Secret: true},
	{Name: "GANTRY_FULCIO_URL", Description: "keyless: Fulcio certificate authority of a private sigstore stack (default: the signing config, else https://fulcio.sigstore.dev)"},
	{Name: "GANTRY_REKOR_URL", Description: "keyless: Rekor v2 transparency log (default: the signing config, else sigstore's public log); none to sign with timestamps only"},
	{Name: "GANTRY_TSA_URL", Description: "keyless: RFC 3161 timestamp authority endpoint, e.g. https://tsa.example.com/api/v1/timestamp (default: the signing config, else sigstore's public TSA)"},
	{Name: "GANTRY_SIGNING_CONFIG", Description: "keyless: a sigstore signing config file (signing_config.json) naming Fulcio, Rekor v2 and the TSA of a private stack"},
	{Name: "GANTRY_VERIFY_IDENTITY", Description: "verify:signature checks keyless signatures by this certificate identity, e.g. https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3"},
	{Name: "GANTRY_VERIFY_IDENTITY_REGEXP", Description: "verify:signature: a regexp the certificate identity must match, instead of GANTRY_VERIFY_IDENTITY"},
	{Name: "GANTRY_VERIFY_ISSUER", Description: "verify:signature: the OIDC issuer keyless certificates must name, e.g. https://token.actions.githubusercontent.com"},
	{Name: "GANTRY_VERIFY_ISSUER_REGEXP", Description: "verify:signature: a regexp the OIDC issuer must match, instead of GANTRY_VERIFY_ISSUER"},
	{Name: "GANTRY_TRUSTED_ROOT", Description: "verify:signature: a sigstore trusted root file (trusted_root.json) to check keyless signatures offline against (default: sigstore's public root through TUF)"},
	{Name: "GANTRY_KEYGEN_PREFIX", Description: "keygen writes <prefix>.key and <prefix>.pub (default cosign)"},
	{Name: "GANTRY_TEMPLATE", Description: "CI pipeline init writes: github (default; one runner), github-split (native runner per platform, then a merge job), gitlab, gitlab-split, or none"},
	{Name: "GANTRY_INIT_FORCE", Description: "set to 1 to let init replace files that already exist", EmptyUnset: true},
	{Name: "GANTRY_INIT_DOCKERFILE", Description: "set to 1 to make init also write a Dockerfile for docker buildx that copies the cross-compiled binaries (no emulation)", EmptyUnset: true},
	{Name: "GANTRY_INIT_KIT", Description: "the Gantry version init requires, e.g. v0.4.0; default: the running kit's version, or from a clone a replace directive to the clone"},
	{Name: "GANTRY_SBOM", Description: "set to 0 to leave SBOMs and provenance out of release (default 1: attach them to every image)", EmptyUnset: true},
	{Name: "GANTRY_SBOM_FORMAT", Description: "SBOM format: spdx (default, SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.6 JSON)"},
	{Name: "GANTRY_PROVENANCE", Description: "set to 0 to leave the SLSA provenance out (default 1)", EmptyUnset: true},
	{Name: "VAULT_ADDR", Description: "HashiCorp Vault (or OpenBao) address for hashivault:// signing keys"},
	{Name: "VAULT_TOKEN", Description: "Vault token for hashivault:// signing keys", Secret: true},
	{Name: "GANTRY_ALLOW_UNKNOWN_VARS", Description: "comma-separated GANTRY_* variables of your own that Gantry should not refuse as unknown (a trailing * matches a prefix, e.g. GANTRY_TOOLS,GANTRY_CI_*)", EmptyUnset: true},
	{Name: EngineProjectVar, Description: "set by Gantry, not by hand: the project the magefile configured, as JSON, handed from `go tool mage` to Gantry's engine", Secret: true},
	{Name: "CI", Description: "true on CI runners: push logs plain lines instead of a live display"},
	{Name: "GITHUB_ACTIONS", Description: "true under GitHub Actions: push writes step outputs (digest, tags) and a step summary"},
	{Name: "GITHUB_OUTPUT", Description: "file GitHub Actions reads step outputs from"},
	{Name: "GITHUB_STEP_SUMMARY", Description: "file GitHub Actions renders as the step summary"},
	{Name: "TERM", Description: "terminal type; dumb turns push's live display off"},
}

// Env looks up an environment variable, like os.LookupEnv.
type Env func(name string) (string, bool)

// OSEnv reads the process environment.
func OSEnv(name string) (string, bool) { return os.LookupEnv(name) }

// MapEnv is an Env backed by a map, for tests and callers that build their
// own environment.
func MapEnv(m map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// lookup returns the trimmed value of a declared variable.
func (e Env) lookup(name string) (string, bool) {
	if !declared(name) {
		panic("config: undeclared environment variable " + name)
	}
	if e == nil {
		return "", false
	}
	v, ok := e(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func declared(name string) bool {
	for _, v := range vars {
		if v.Name == name {
			return true
		}
	}
	return false
}

// Values returns the value of every declared variable that is set, secret
// ones replaced by "(set)", for display.
func (e Env) Values() map[string]string {
	out := map[string]string{}
	for _, v := range vars {
		val, ok := e.lookup(v.Name)
		if !ok {
			continue
		}
		if v.Secret {
			val = "(set)"
		}
		out[v.Name] = val
	}
	return out
}

func parseBool(name, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean: use 1 or 0", name, v)
	}
	return b, nil
}

// maxEpoch is the last second of year 9999: image configs hold the
// created time in RFC 3339, which has four digits for the year.
const maxEpoch = 253402300799

// parseEpoch parses SOURCE_DATE_EPOCH as the reproducible-builds spec
// defines it: decimal seconds since the Unix epoch, UTC.
func parseEpoch(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a Unix time in seconds: use e.g. $(git log -1 --format=%%ct)", v)
	}
	if n > maxEpoch {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is after the year 9999, which an image's created time cannot hold: use a Unix time in seconds, e.g. $(git log -1 --format=%%ct)", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// splitList splits the comma-separated value of variable name. An empty
// element (a stray or trailing comma) is an error, not something to skip:
// the docs promise it, and dropping it silently changes what is built.
func splitList(name, v string) ([]string, error) {
	var out []string
	for i, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			return nil, fmt.Errorf("%s=%q: element %d is empty: separate values with single commas, with none at the ends", name, v, i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// checkEmpty refuses GANTRY_* variables that are set but empty, unless an
// empty value means unset for them (Var.EmptyUnset).
func checkEmpty(env Env) error {
	if env == nil {
		return nil
	}
	for _, v := range vars {
		if v.EmptyUnset || !strings.HasPrefix(v.Name, "GANTRY_") {
			continue
		}
		if val, ok := env(v.Name); ok && strings.TrimSpace(val) == "" {
			return fmt.Errorf("%s is set but empty: unset it to get the default, or set it (%s)", v.Name, v.Description)
		}
	}
	return nil
}
