package targets

import "context"

// SBOM attaches to each image in dist/oci/<name> an SPDX SBOM and a SLSA provenance per platform and an SBOM of the index (OCI referrers that sign attests, cosign verify-attestation checks), and leaves them in dist/sbom.
func SBOM(ctx context.Context) error {
	b, err := load(ctx)
	if err != nil {
		return err
	}
	return b.SBOM(ctx)
}
