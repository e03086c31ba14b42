package config

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Keyless configures keyless signing (an ephemeral key certified by Fulcio
// for the CI job's OIDC identity) and the identity verify:signature
// expects. docs/keyless.md describes it.
type Keyless struct {
	// Enabled turns keyless signing on (GANTRY_SIGN_KEYLESS=1) instead of
	// a key.
	Enabled bool
	// FulcioURL, RekorURL and TSAURL name a private sigstore stack;
	// default: the signing config, else sigstore's public instances.
	// RekorURL "none" signs with timestamps only.
	FulcioURL, RekorURL, TSAURL string
	// SigningConfig is a sigstore signing config file (signing_config.json)
	// naming the services.
	SigningConfig string

	// VerifyIdentity (or VerifyIdentityRegexp) is the certificate identity
	// verify:signature expects, e.g.
	// https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3.
	VerifyIdentity, VerifyIdentityRegexp string
	// VerifyIssuer (or VerifyIssuerRegexp) is the OIDC issuer it expects,
	// e.g. https://token.actions.githubusercontent.com.
	VerifyIssuer, VerifyIssuerRegexp string
	// TrustedRoot is a sigstore trusted root file (trusted_root.json) to
	// verify offline against; default: sigstore's public root, through TUF.
	TrustedRoot string
}

// KeylessConfig is the effective keyless configuration, with the identity
// token's sources.
type KeylessConfig struct {
	Keyless
	IDToken             Secret // SIGSTORE_ID_TOKEN (GitLab's id_tokens convention too)
	ActionsRequestURL   string // ACTIONS_ID_TOKEN_REQUEST_URL
	ActionsRequestToken Secret // ACTIONS_ID_TOKEN_REQUEST_TOKEN
}

// HasToken reports whether any identity token source is set.
func (k KeylessConfig) HasToken() bool {
	return k.IDToken != "" || (k.ActionsRequestURL != "" && k.ActionsRequestToken != "")
}

// VerifiesIdentity reports whether verify:signature checks an identity
// rather than a key.
func (k KeylessConfig) VerifiesIdentity() bool {
	return k.VerifyIdentity != "" || k.VerifyIdentityRegexp != "" || k.VerifyIssuer != "" || k.VerifyIssuerRegexp != ""
}

// loadKeyless applies the environment over k and validates it; files are
// resolved against root.
func loadKeyless(k Keyless, env Env, root string) (KeylessConfig, error) {
	c := KeylessConfig{Keyless: k}
	if v, ok := env.lookup("GANTRY_SIGN_KEYLESS"); ok {
		b, err := parseBool("GANTRY_SIGN_KEYLESS", v)
		if err != nil {
			return c, err
		}
		c.Enabled = b
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"GANTRY_FULCIO_URL", &c.FulcioURL},
		{"GANTRY_REKOR_URL", &c.RekorURL},
		{"GANTRY_TSA_URL", &c.TSAURL},
		{"GANTRY_SIGNING_CONFIG", &c.SigningConfig},
		{"GANTRY_VERIFY_IDENTITY", &c.VerifyIdentity},
		{"GANTRY_VERIFY_IDENTITY_REGEXP", &c.VerifyIdentityRegexp},
		{"GANTRY_VERIFY_ISSUER", &c.VerifyIssuer},
		{"GANTRY_VERIFY_ISSUER_REGEXP", &c.VerifyIssuerRegexp},
		{"GANTRY_TRUSTED_ROOT", &c.TrustedRoot},
	} {
		if v, ok := env.lookup(f.name); ok {
			*f.dst = v
		}
	}
	if v, ok := env.lookup("SIGSTORE_ID_TOKEN"); ok {
		c.IDToken = Secret(v)
	}
	c.ActionsRequestURL, _ = env.lookup("ACTIONS_ID_TOKEN_REQUEST_URL")
	if v, ok := env.lookup("ACTIONS_ID_TOKEN_REQUEST_TOKEN"); ok {
		c.ActionsRequestToken = Secret(v)
	}
	if c.SigningConfig != "" {
		c.SigningConfig = abs(root, c.SigningConfig)
	}
	if c.TrustedRoot != "" {
		c.TrustedRoot = abs(root, c.TrustedRoot)
	}
	if c.VerifyIdentity != "" && c.VerifyIdentityRegexp != "" {
		return c, errors.New("GANTRY_VERIFY_IDENTITY and GANTRY_VERIFY_IDENTITY_REGEXP are both set: set one")
	}
	if c.VerifyIssuer != "" && c.VerifyIssuerRegexp != "" {
		return c, errors.New("GANTRY_VERIFY_ISSUER and GANTRY_VERIFY_ISSUER_REGEXP are both set: set one")
	}
	if c.VerifiesIdentity() {
		if c.VerifyIdentity == "" && c.VerifyIdentityRegexp == "" {
			return c, errors.New("keyless verification needs the certificate identity: set GANTRY_VERIFY_IDENTITY (e.g. https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3) or GANTRY_VERIFY_IDENTITY_REGEXP")
		}
		if c.VerifyIssuer == "" && c.VerifyIssuerRegexp == "" {
			return c, errors.New("keyless verification needs the OIDC issuer: set GANTRY_VERIFY_ISSUER (e.g. https://token.actions.githubusercontent.com) or GANTRY_VERIFY_ISSUER_REGEXP")
		}
	}
	return c, nil
}

// printKeyless writes the keyless settings of Print (never a secret).
func printKeyless(w io.Writer, c KeylessConfig) {
	if c.Enabled {
		var svc []string
		for _, s := range []struct{ name, v string }{{"fulcio", c.FulcioURL}, {"rekor", c.RekorURL}, {"tsa", c.TSAURL}, {"signing config", c.SigningConfig}} {
			if s.v != "" {
				svc = append(svc, s.name+" "+s.v)
			}
		}
		if len(svc) == 0 {
			svc = []string{"sigstore's public instances"}
		}
		fmt.Fprintf(w, "  keyless\t%s\n", strings.Join(svc, ", "))
	}
	if c.VerifiesIdentity() {
		id, iss := c.VerifyIdentity, c.VerifyIssuer
		if id == "" {
			id = "~" + c.VerifyIdentityRegexp
		}
		if iss == "" {
			iss = "~" + c.VerifyIssuerRegexp
		}
		root := c.TrustedRoot
		if root == "" {
			root = "sigstore's public root (TUF)"
		}
		fmt.Fprintf(w, "  verify identity\t%s, issuer %s, trusted root %s\n", id, iss, root)
	}
}
