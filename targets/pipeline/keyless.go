package pipeline

import (
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keyless"
)

// newKeylessSigner makes the keyless signer the configuration describes:
// services from the URLs, else the signing config, else sigstore's public
// instances.
func newKeylessSigner(k config.KeylessConfig) (sign.Signer, error) {
	svc := keyless.Public()
	if k.SigningConfig != "" {
		var err error
		if svc, err = keyless.FromSigningConfig(k.SigningConfig, time.Now()); err != nil {
			return nil, fmt.Errorf("GANTRY_SIGNING_CONFIG: %w", err)
		}
	}
	if k.FulcioURL != "" {
		svc.Fulcio = k.FulcioURL
	}
	if k.RekorURL != "" {
		svc.Rekor = k.RekorURL
	}
	if svc.Rekor == "none" {
		svc.Rekor = ""
	}
	if k.TSAURL != "" {
		svc.TSA = k.TSAURL
	}
	return keyless.New(keyless.Options{
		Services: svc,
		Token: keyless.TokenSource{
			IDToken:             k.IDToken.Reveal(),
			ActionsRequestURL:   k.ActionsRequestURL,
			ActionsRequestToken: k.ActionsRequestToken.Reveal(),
		},
	})
}

// keylessIdentity is the verify policy the configuration describes, with
// its trusted root: the file, else sigstore's public root through TUF.
func keylessIdentity(k config.KeylessConfig) (sign.Identity, error) {
	id := sign.Identity{
		Subject: k.VerifyIdentity, SubjectRegexp: k.VerifyIdentityRegexp,
		Issuer: k.VerifyIssuer, IssuerRegexp: k.VerifyIssuerRegexp,
	}
	var err error
	if k.TrustedRoot != "" {
		id.Root, err = root.NewTrustedRootFromPath(k.TrustedRoot)
		if err != nil {
			return id, fmt.Errorf("GANTRY_TRUSTED_ROOT=%s: %w", k.TrustedRoot, err)
		}
		return id, nil
	}
	id.Root, err = root.FetchTrustedRoot()
	if err != nil {
		return id, fmt.Errorf("fetching sigstore's public trusted root (set GANTRY_TRUSTED_ROOT to a trusted_root.json to verify offline): %w", err)
	}
	return id, nil
}
