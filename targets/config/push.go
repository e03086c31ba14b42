package config

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Push configures where and how the push target publishes. The zero value
// publishes nowhere, so release stays offline; zero fields get the push
// package's defaults.
type Push struct {
	Repos       []string      // destination repositories, e.g. ghcr.io/org/app; with several images, prefixes each image's name is appended to
	SemverTags  []string      // what a release version vX.Y.Z adds: any of patch (X.Y.Z), minor (X.Y), major (X), latest; nil: all four; {"none"}: none
	ArchTags    string        // per-platform tags <tag>-<suffix>: "go" (default: amd64, arm64, armv7), "uname" (x86_64, aarch64, armv7l), "none", or pairs such as "amd64=x86_64,arm64=aarch64"
	Immutable   bool          // fail, before anything is uploaded, when a version tag already names other content
	Insecure    []string      // registries (host[:port]) that may be reached over plain HTTP; loopback addresses always may
	Jobs        int           // parallel uploads; default 4
	RetryBudget time.Duration // no retry starts later than this after the push began; default 10m
	Progress    string        // auto (default: live on a terminal, plain lines otherwise), live, plain or quiet
	Stale       bool          // push a layout built from another commit than the work tree's HEAD (refused by default)
}

// PushConfig is the effective push configuration: Push with the environment
// applied, the credentials, and what the environment says about where the
// push runs (CI, GitHub Actions, terminal).
type PushConfig struct {
	Push
	Username          string // GANTRY_REGISTRY_USERNAME: with Password, credentials for every destination registry
	Password          Secret // GANTRY_REGISTRY_PASSWORD
	CI                bool   // CI=true: no live progress display
	GitHubActions     bool   // GITHUB_ACTIONS=true: write step outputs and a step summary
	GitHubOutput      string // file step outputs are appended to
	GitHubStepSummary string // file the step summary is appended to
	Term              string // TERM; "dumb" turns the live display off
}

// Enabled reports whether a destination is configured.
func (p PushConfig) Enabled() bool { return len(p.Repos) > 0 }

// Secret is a value that must never be printed: it formats as "(redacted)".
// Reveal returns the value.
type Secret string

// Reveal returns the secret value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(redacted)"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalText keeps encoders from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// semverTagKinds are the values Push.SemverTags may hold.
var semverTagKinds = []string{"patch", "minor", "major", "latest"}

// progressModes are the values Push.Progress may hold.
var progressModes = []string{"auto", "live", "plain", "quiet"}

// loadPush applies the environment over p and validates it.
func loadPush(p Push, env Env) (PushConfig, error) {
	c := PushConfig{Push: p}
	c.Repos = slices.Clone(p.Repos)
	c.SemverTags = slices.Clone(p.SemverTags)
	c.Insecure = slices.Clone(p.Insecure)
	if v, ok := env.lookup("GANTRY_REPO"); ok {
		list, err := splitList("GANTRY_REPO", v)
		if err != nil {
			return c, err
		}
		c.Repos = list
	}
	if v, ok := env.lookup("GANTRY_SEMVER_TAGS"); ok {
		list, err := splitList("GANTRY_SEMVER_TAGS", v)
		if err != nil {
			return c, err
		}
		c.SemverTags = list
	}
	if v, ok := env.lookup("GANTRY_ARCH_TAGS"); ok {
		c.ArchTags = v
	}
	if v, ok := env.lookup("GANTRY_INSECURE_REGISTRIES"); ok {
		list, err := splitList("GANTRY_INSECURE_REGISTRIES", v)
		if err != nil {
			return c, err
		}
		c.Insecure = list
	}
	if v, ok := env.lookup("GANTRY_PROGRESS"); ok {
		c.Progress = v
	}
	if v, ok := env.lookup("GANTRY_PUSH_JOBS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("GANTRY_PUSH_JOBS=%q is not a positive number", v)
		}
		c.Jobs = n
	}
	if v, ok := env.lookup("GANTRY_PUSH_RETRY_BUDGET"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("GANTRY_PUSH_RETRY_BUDGET=%q is not a positive duration: use e.g. 10m or 90s", v)
		}
		c.RetryBudget = d
	}
	for name, dst := range map[string]*bool{"GANTRY_IMMUTABLE_TAGS": &c.Immutable, "GANTRY_PUSH_STALE": &c.Stale, "GITHUB_ACTIONS": &c.GitHubActions, "CI": &c.CI} {
		if v, ok := env.lookup(name); ok {
			b, err := parseBool(name, v)
			if err != nil {
				return c, err
			}
			*dst = *dst || b
		}
	}
	c.Username, _ = env.lookup("GANTRY_REGISTRY_USERNAME")
	if v, ok := env.lookup("GANTRY_REGISTRY_PASSWORD"); ok {
		c.Password = Secret(v)
	}
	c.GitHubOutput, _ = env.lookup("GITHUB_OUTPUT")
	c.GitHubStepSummary, _ = env.lookup("GITHUB_STEP_SUMMARY")
	c.Term, _ = env.lookup("TERM")
	return c, c.validate()
}

func (c PushConfig) validate() error {
	for _, r := range c.Repos {
		if err := checkRepo(r); err != nil {
			return err
		}
	}
	for _, k := range c.SemverTags {
		if k == "none" && len(c.SemverTags) == 1 {
			continue
		}
		if !slices.Contains(semverTagKinds, k) {
			return fmt.Errorf("semver tag kind %q is unknown: use a comma-separated list of %s, or none (GANTRY_SEMVER_TAGS)", k, strings.Join(semverTagKinds, ", "))
		}
	}
	if c.Progress != "" && !slices.Contains(progressModes, c.Progress) {
		return fmt.Errorf("progress %q is unknown: use one of %s (GANTRY_PROGRESS)", c.Progress, strings.Join(progressModes, ", "))
	}
	if (c.Username == "") != (c.Password == "") {
		return fmt.Errorf("set both GANTRY_REGISTRY_USERNAME and GANTRY_REGISTRY_PASSWORD, or neither (then credentials come from docker login)")
	}
	for _, r := range c.Insecure {
		if _, err := name.NewRegistry(r, name.StrictValidation); err != nil || strings.Contains(r, "/") {
			return fmt.Errorf("insecure registry %q is not a registry host[:port], e.g. registry.internal:5000 (GANTRY_INSECURE_REGISTRIES)", r)
		}
	}
	return nil
}

// checkRepo rejects what cannot name a repository, with a hint.
func checkRepo(r string) error {
	if strings.Contains(r, "://") {
		return fmt.Errorf("destination repository %q is not valid: leave out the scheme, e.g. %s (plain HTTP is for loopback and GANTRY_INSECURE_REGISTRIES) (GANTRY_REPO)", r, r[strings.Index(r, "://")+3:])
	}
	_, err := name.NewRepository(r)
	if err == nil {
		return nil
	}
	hint := "write it as registry/path in lower case, e.g. ghcr.io/org/app or 127.0.0.1:5000/app"
	if ref, terr := name.ParseReference(r); terr == nil {
		hint = fmt.Sprintf("give the repository only (%s): push sets the tags", ref.Context())
	}
	return fmt.Errorf("destination repository %q is not valid (%v): %s (GANTRY_REPO)", r, err, hint)
}

// imageRepos is where one image goes: the repositories as given with one
// image, each with the image name appended with several.
func imageRepos(repos []string, img string, several bool) []string {
	if !several || len(repos) == 0 {
		return slices.Clone(repos)
	}
	out := make([]string, 0, len(repos))
	for _, r := range repos {
		out = append(out, strings.TrimSuffix(r, "/")+"/"+img)
	}
	return out
}

// printPush writes the push settings of Print (nothing when push is off).
func printPush(w io.Writer, c PushConfig) {
	if !c.Enabled() {
		fmt.Fprintf(w, "push\toff (set GANTRY_REPO to publish)\n")
		return
	}
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	semver := "patch, minor, major, latest"
	if c.SemverTags != nil {
		semver = strings.Join(c.SemverTags, ", ")
	}
	fmt.Fprintf(w, "push\t%s\n", strings.Join(c.Repos, ", "))
	fmt.Fprintf(w, "  semver tags\t%s\n", semver)
	fmt.Fprintf(w, "  arch tags\t%s\n", or(c.ArchTags, "go"))
	fmt.Fprintf(w, "  immutable tags\t%t\n", c.Immutable)
	if len(c.Insecure) > 0 {
		fmt.Fprintf(w, "  insecure\t%s\n", strings.Join(c.Insecure, ", "))
	}
	if c.Username != "" {
		fmt.Fprintf(w, "  credentials\t%s (GANTRY_REGISTRY_USERNAME/PASSWORD)\n", c.Username)
	} else {
		fmt.Fprintf(w, "  credentials\tdocker config.json and credential helpers\n")
	}
}
