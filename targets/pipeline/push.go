package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/term"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/push"
)

// MetadataFile is where Push records what it pushed, in the output
// directory.
const MetadataFile = "metadata.json"

// Push publishes every image's layout to its repositories (it never
// builds), then writes <out>/metadata.json and, under GitHub Actions, the
// step outputs and summary. Options.Out gets one line per pushed index,
// repo@sha256:…, and nothing else, so IMG=$(go tool mage push) holds
// exactly the pushed references; everything else goes to Options.Log.
func (b *Build) Push(ctx context.Context) error {
	images, opts, err := b.pushPlan()
	if err != nil {
		return err
	}
	res, err := push.Layouts(ctx, images, opts...)
	if err != nil {
		return err
	}
	if err := b.makeOut(); err != nil {
		return err
	}
	meta := filepath.Join(b.Config.Out, MetadataFile)
	if err := push.WriteMetadata(meta, res); err != nil {
		return err
	}
	pc := b.Config.Push
	if pc.GitHubActions {
		if err := push.WriteGitHub(pc.GitHubOutput, pc.GitHubStepSummary, res); err != nil {
			return err
		}
	}
	if pc.Progress != "quiet" {
		printPushed(b.opts.Log, res, meta, b.Git.Revision)
	}
	for _, p := range res.Images {
		fmt.Fprintln(b.opts.Out, p.Reference())
	}
	return nil
}

// CheckPush checks the push configuration without pushing, so release can
// refuse a bad one before it builds.
func (b *Build) CheckPush() error {
	_, _, err := b.pushPlan()
	return err
}

// pushPlan turns the configuration into push's images and options.
func (b *Build) pushPlan() ([]push.Image, []push.Option, error) {
	pc := b.Config.Push
	if !pc.Enabled() {
		return nil, nil, errors.New("push has no destination: set GANTRY_REPO (e.g. ghcr.io/org/app or 127.0.0.1:5000/app), or Push.Repos in the magefile")
	}
	var images []push.Image
	for _, t := range b.Config.Images {
		img := push.Image{Name: t.Name, Layout: b.LayoutDir(t)}
		for _, r := range t.Repos {
			repo, err := name.NewRepository(r)
			if err != nil {
				return nil, nil, fmt.Errorf("image %s: destination %q: %w", t.Name, r, err)
			}
			img.Repos = append(img.Repos, repo)
		}
		images = append(images, img)
	}
	semver, err := push.ParseSemver(pc.SemverTags)
	if err != nil {
		return nil, nil, err
	}
	arch, err := push.ParseArchScheme(pc.ArchTags)
	if err != nil {
		return nil, nil, err
	}
	opts := []push.Option{
		push.WithSemver(semver),
		push.WithArchTags(arch),
		push.WithTags(b.Config.Tags...),
		push.WithInsecure(pc.Insecure...),
		push.WithProgress(b.progress()),
	}
	if pc.Immutable {
		opts = append(opts, push.WithImmutableTags())
	}
	if b.Git.Found {
		opts = append(opts, push.WithRevision(b.Git.Revision))
	}
	if pc.Stale {
		opts = append(opts, push.WithStale())
	}
	if pc.Jobs > 0 {
		opts = append(opts, push.WithJobs(pc.Jobs))
	}
	if pc.RetryBudget > 0 {
		opts = append(opts, push.WithRetryBudget(pc.RetryBudget))
	}
	if pc.Username != "" {
		opts = append(opts, push.WithCredentials(pc.Username, pc.Password.Reveal()))
	}
	return images, opts, nil
}

// progress picks the display: live on a terminal outside CI, plain lines
// otherwise, or none.
func (b *Build) progress() push.Progress {
	pc := b.Config.Push
	switch pc.Progress {
	case "quiet":
		return push.Quiet()
	case "plain":
		return push.Plain(b.opts.Log)
	case "live":
		return push.Live(b.opts.Log)
	}
	if isTerminal(b.opts.Log) && !pc.CI && !pc.GitHubActions && pc.Term != "dumb" {
		return push.Live(b.opts.Log)
	}
	return push.Plain(b.opts.Log)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func orNone(rev string) string {
	if rev == "" {
		return "no commit"
	}
	return rev
}

// printPushed writes what a person wants after a push.
func printPushed(w io.Writer, res *push.Result, meta, head string) {
	for _, p := range res.Images {
		fmt.Fprintf(w, "\npushed %s %s\n", p.Name, p.Version)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if head != "" && p.Revision != head {
			fmt.Fprintf(tw, "  built from\t%s, not the work tree's HEAD %s (GANTRY_PUSH_STALE=1)\n", orNone(p.Revision), head)
		}
		fmt.Fprintf(tw, "  index\t%s\n", p.Reference())
		fmt.Fprintf(tw, "  tags\t%s\n", strings.Join(p.Tags, ", "))
		for _, pl := range p.Platforms {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", platform.String(pl.Platform), pl.Manifest.Digest, strings.Join(pl.Tags, ", "))
		}
		tw.Flush()
	}
	s := res.Stats
	fmt.Fprintf(w, "\n%d blobs uploaded (%s sent), %d mounted, %d already there; %d manifests put, %d already there; %d tags moved, %d kept; %d requests, %d retries, %s\n",
		s.Uploaded, shared.HumanSize(s.BytesSent), s.Mounted, s.Existed, s.Manifests, s.ManifestsExisted,
		s.TagsMoved, s.TagsKept, s.Requests, s.Retries, s.Duration.Round(1e7))
	fmt.Fprintf(w, "metadata: %s\n", shared.RelPath(meta))
}
