package config

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Print writes the effective configuration and every environment variable
// Gantry reads, with its description and current value (secrets redacted).
func Print(w io.Writer, c *Config, env Env) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "output\t%s\n", c.Out)
	fmt.Fprintf(tw, "compression\t%s\n", c.Compression)
	fmt.Fprintf(tw, "allow dirty\t%t\n", c.AllowDirty)
	fmt.Fprintf(tw, "require vendor\t%t\n", c.RequireVendor)
	if len(c.Tags) > 0 {
		fmt.Fprintf(tw, "extra tags\t%s\n", strings.Join(c.Tags, ", "))
	}
	if len(c.IndexFrom) > 0 {
		fmt.Fprintf(tw, "index from\t%s\n", strings.Join(c.IndexFrom, ", "))
	}
	if c.SourceDateEpoch != nil {
		fmt.Fprintf(tw, "created\t%s (SOURCE_DATE_EPOCH)\n", c.SourceDateEpoch.Format(time.RFC3339))
	} else {
		fmt.Fprintf(tw, "created\tcommit time\n")
	}
	printPush(tw, c.Push)
	printSign(tw, c.Sign, c.Mage)
	printSBOM(tw, c.SBOM)
	for _, t := range c.Images {
		fmt.Fprintf(tw, "\nimage %s\t\n", t.Name)
		if len(t.Repos) > 0 {
			fmt.Fprintf(tw, "  push to\t%s\n", strings.Join(t.Repos, ", "))
		}
		fmt.Fprintf(tw, "  module\t%s (%s)\n", t.Module, t.Dir)
		fmt.Fprintf(tw, "  main\t%s\n", t.Main)
		fmt.Fprintf(tw, "  platforms\t%s\n", strings.Join(platformStrings(t.Platforms), ", "))
		fmt.Fprintf(tw, "  base\t%s\n", t.Base)
		for _, k := range slices.Sorted(maps.Keys(t.Bases)) {
			fmt.Fprintf(tw, "  base for %s\t%s\n", k, t.Bases[k])
		}
		fmt.Fprintf(tw, "  user\t%s\n", t.User)
		fmt.Fprintf(tw, "  binary\t%s/%s\n", t.BinDir, t.Name)
		fmt.Fprintf(tw, "  vendored\t%t\n", t.Vendor)
		for _, f := range t.FileSpecs() {
			fmt.Fprintf(tw, "  files\t%s → %s (%s)\n", f.Src, f.Dst, f.Field)
		}
		if env := t.EnvList(false); len(env) > 0 {
			fmt.Fprintf(tw, "  env\t%s\n", strings.Join(env, " "))
		}
		printIf(tw, "args", strings.Join(t.Args, " "))
		printIf(tw, "working dir", t.WorkingDir)
		printIf(tw, "ports", strings.Join(t.Ports, ", "))
		printIf(tw, "stop signal", t.StopSignal)
		if t.MaxFileSize > 0 {
			fmt.Fprintf(tw, "  max file size\t%d bytes\n", t.MaxFileSize)
		}
		if t.Injections == nil {
			fmt.Fprintf(tw, "  version vars\t%s, %s, %s\n", t.VersionVar, t.RevisionVar, t.BuildTimeVar)
		}
		for i, l := range t.Injections {
			label := ""
			if i == 0 {
				label = "  -X injection"
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, l)
		}
	}
	fmt.Fprintf(tw, "\nenvironment\t\t\n")
	values := env.Values()
	for _, v := range vars {
		val, ok := values[v.Name]
		if !ok {
			val = "(unset)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, val, v.Description)
	}
	return tw.Flush()
}

func platformStrings(ps []v1.Platform) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, platform.String(p))
	}
	return out
}

// printIf prints a row when the value is set.
func printIf(tw io.Writer, label, value string) {
	if value != "" {
		fmt.Fprintf(tw, "  %s\t%s\n", label, value)
	}
}
