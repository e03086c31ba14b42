package push

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/platform"
)

// WriteGitHub appends, under GitHub Actions, the step outputs to outputPath
// ($GITHUB_OUTPUT) and a summary table to summaryPath
// ($GITHUB_STEP_SUMMARY); an empty path is skipped. Outputs: digest and
// reference (of the first image's index), tags (every repository:tag, one
// a line) and metadata (metadata.json, compact).
func WriteGitHub(outputPath, summaryPath string, r *Result) error {
	if len(r.Images) == 0 {
		return nil
	}
	if outputPath != "" {
		if err := appendFile(outputPath, githubOutputs(r)); err != nil {
			return fmt.Errorf("writing GitHub step outputs: %w", err)
		}
	}
	if summaryPath != "" {
		if err := appendFile(summaryPath, githubSummary(r)); err != nil {
			return fmt.Errorf("writing GitHub step summary: %w", err)
		}
	}
	return nil
}

func githubOutputs(r *Result) string {
	first := r.Images[0]
	var tags []string
	for _, p := range r.Images {
		tags = append(tags, p.TagReferences()...)
	}
	meta, _ := json.Marshal(MetadataOf(r))
	var b strings.Builder
	fmt.Fprintf(&b, "digest=%s\n", first.Index.Digest)
	fmt.Fprintf(&b, "reference=%s\n", first.Reference())
	writeMultiline(&b, "tags", strings.Join(tags, "\n"))
	writeMultiline(&b, "metadata", string(meta))
	return b.String()
}

// writeMultiline writes name<<DELIM … DELIM with a delimiter that is not in
// the value.
func writeMultiline(b *strings.Builder, name, value string) {
	var delim string
	for {
		var raw [8]byte
		rand.Read(raw[:])
		delim = "gantry_" + hex.EncodeToString(raw[:])
		if !strings.Contains(value, delim) {
			break
		}
	}
	fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
}

func githubSummary(r *Result) string {
	var b strings.Builder
	b.WriteString("### Pushed images\n\n| image | reference | tags | platforms |\n| --- | --- | --- | --- |\n")
	for _, p := range r.Images {
		var tags, plats []string
		for _, t := range p.Tags {
			tags = append(tags, "`"+t+"`")
		}
		for _, pl := range p.Platforms {
			plats = append(plats, fmt.Sprintf("%s `%s`", platform.String(pl.Platform), pl.Manifest.Digest))
		}
		fmt.Fprintf(&b, "| %s %s | `%s` | %s | %s |\n", p.Name, p.Version, p.Reference(),
			strings.Join(tags, " "), strings.Join(plats, "<br>"))
	}
	s := r.Stats
	fmt.Fprintf(&b, "\n%d blobs uploaded (%s sent), %d mounted, %d already there; %d tags moved, %d kept; %d retries; %s.\n",
		s.Uploaded, shared.HumanSize(s.BytesSent), s.Mounted, s.Existed, s.TagsMoved, s.TagsKept, s.Retries, s.Duration.Round(1e7))
	return b.String()
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
