package config

import (
	"fmt"
	"io"
	"slices"
)

// SBOM configures the sbom target (and release's sbom step): the SBOMs and
// provenance attached to each image. The zero value writes an SPDX SBOM
// and a SLSA provenance of every platform image and an SBOM of the index.
type SBOM struct {
	// Disable turns the SBOM step off (release skips it).
	Disable bool
	// Format is the SBOM format: "spdx" (SPDX 2.3 JSON; "" means spdx) or
	// "cyclonedx" (CycloneDX 1.6 JSON).
	Format string
	// NoProvenance leaves the SLSA provenance out.
	NoProvenance bool
}

// SBOMConfig is the effective SBOM configuration.
type SBOMConfig struct {
	SBOM
}

// sbomFormats are the values SBOM.Format may hold.
var sbomFormats = []string{"spdx", "cyclonedx"}

// Enabled reports whether release describes the images.
func (s SBOMConfig) Enabled() bool { return !s.Disable }

// loadSBOM applies the environment over s and validates it.
func loadSBOM(s SBOM, env Env) (SBOMConfig, error) {
	c := SBOMConfig{SBOM: s}
	if v, ok := env.lookup("GANTRY_SBOM"); ok {
		on, err := parseBool("GANTRY_SBOM", v)
		if err != nil {
			return c, err
		}
		c.Disable = !on
	}
	if v, ok := env.lookup("GANTRY_SBOM_FORMAT"); ok {
		c.Format = v
	}
	if v, ok := env.lookup("GANTRY_PROVENANCE"); ok {
		on, err := parseBool("GANTRY_PROVENANCE", v)
		if err != nil {
			return c, err
		}
		c.NoProvenance = !on
	}
	if c.Format != "" && !slices.Contains(sbomFormats, c.Format) {
		return c, fmt.Errorf("SBOM format %q is not supported: use spdx (default) or cyclonedx (GANTRY_SBOM_FORMAT)", c.Format)
	}
	return c, nil
}

// printSBOM writes the SBOM settings of Print.
func printSBOM(w io.Writer, c SBOMConfig) {
	if !c.Enabled() {
		fmt.Fprintf(w, "sbom\toff (GANTRY_SBOM=0)\n")
		return
	}
	prov := "with SLSA provenance"
	if c.NoProvenance {
		prov = "without provenance"
	}
	format := c.Format
	if format == "" {
		format = "spdx"
	}
	fmt.Fprintf(w, "sbom\t%s, %s\n", format, prov)
}
