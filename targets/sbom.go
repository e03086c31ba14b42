package targets

import "context"

// Attach an SPDX SBOM and a SLSA provenance to every image in dist/oci.
//
// One SBOM and provenance per platform image and an SBOM of the index, as
// OCI referrers (which sign then attests and cosign verify-attestation
// checks); copies are left in dist/sbom.
func SBOM(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.SBOM(ctx)
	}())
}
