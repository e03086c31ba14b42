package pipeline

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
)

// errNoKey explains how to configure a signing key.
var errNoKey = &shared.NeedStep{
	Err: errors.New("no signing key configured: set GANTRY_SIGN_KEY to a cosign key file, env://VAR or a KMS URI, or GANTRY_SIGN_KEYLESS=1 in CI"),
	Fix: "{keygen} makes a key pair",
}

// Sign signs every image's layout (what index wrote) with the configured
// key, in the configured formats, and writes the signatures into it.
func (b *Build) Sign(ctx context.Context) error {
	sc := b.Config.Sign
	if !sc.Enabled() {
		if sc.Skipped != "" {
			return fmt.Errorf("not signing: %s", sc.Skipped)
		}
		return errNoKey
	}
	formats, err := sign.ParseFormats(sc.Format)
	if err != nil {
		return err
	}
	for _, t := range b.Config.Images {
		if err := ocidir.Exists(b.LayoutDir(t)); err != nil {
			return fmt.Errorf("image %s: nothing to sign: %w", t.Name, &shared.NeedStep{Err: err, Fix: "run {index} (or {release}) first"})
		}
	}
	signer, err := b.loadSigner(ctx)
	if err != nil {
		return err
	}
	for _, t := range b.Config.Images {
		b.logf("signing %s with %s (%s)\n", t.Name, sc.KeyLabel(), formats)
		_, err := sign.Layout(ctx, b.LayoutDir(t), signer,
			sign.WithFormats(formats), sign.WithIdentity(identity(t)), sign.WithLog(b.opts.Log))
		if err != nil {
			return fmt.Errorf("image %s: %w", t.Name, err)
		}
	}
	return nil
}

// CheckSign loads the configured key without signing, so release can
// refuse a wrong password, a bad key or an unreachable KMS before it builds.
func (b *Build) CheckSign(ctx context.Context) error {
	sc := b.Config.Sign
	if !sc.Enabled() {
		return nil
	}
	_, err := b.loadSigner(ctx)
	return err
}

// loadSigner loads the configured key the first time it is asked for.
func (b *Build) loadSigner(ctx context.Context) (sign.Signer, error) {
	b.signerMu.Lock()
	defer b.signerMu.Unlock()
	if b.signer != nil {
		return b.signer, nil
	}
	var s sign.Signer
	var err error
	if k := b.Config.Sign.Keyless; k.Enabled {
		s, err = newKeylessSigner(k)
	} else {
		s, err = keys.LoadSigner(ctx, signerRef(b.Config.Sign))
	}
	if err != nil {
		return nil, err
	}
	b.signer = s
	return s, nil
}

// SignIfConfigured is release's sign step: Sign when a key is configured,
// else a line saying signing was skipped (pull-request builds get no key).
func (b *Build) SignIfConfigured(ctx context.Context) error {
	sc := b.Config.Sign
	if sc.Enabled() {
		return b.Sign(ctx)
	}
	why := "no key configured (set GANTRY_SIGN_KEY)"
	switch {
	case sc.Skipped != "" && sc.Keyless.Enabled:
		why = sc.Skipped
	case sc.Skipped != "":
		why = "no key configured (" + sc.Skipped + ")"
	}
	b.logf("signing skipped: %s\n", why)
	return nil
}

// VerifySignatures checks, offline, that every manifest of every image's
// layout (or the pushed image GANTRY_VERIFY_IMAGE) is signed by the verify
// key in the configured formats, and prints a line per manifest.
func (b *Build) VerifySignatures(ctx context.Context) error {
	sc := b.Config.Sign
	formats, err := sign.ParseFormats(sc.Format)
	if err != nil {
		return err
	}
	opts := []sign.Option{sign.WithFormats(formats)}
	var pub crypto.PublicKey
	if k := sc.Keyless; k.VerifiesIdentity() {
		id, err := keylessIdentity(k)
		if err != nil {
			return err
		}
		opts = append(opts, sign.WithKeyless(id))
		b.logf("verifying keyless signatures by %s\n", id)
	} else if pub, err = b.verifyKey(ctx); err != nil {
		return err
	}
	if sc.VerifyImage != "" {
		ref, ropts, err := b.remoteRef(sc.VerifyImage)
		if err != nil {
			return err
		}
		b.logf("verifying %s (%s)\n", ref, formats)
		r, err := sign.VerifyRemote(ctx, ref, pub, append(opts, sign.WithRemoteOptions(ropts...))...)
		if r != nil {
			r.Print(b.opts.Log)
		}
		return err
	}
	var errs []error
	for _, t := range b.Config.Images {
		b.logf("verifying %s (%s)\n", shared.RelPath(b.LayoutDir(t)), formats)
		r, err := sign.VerifyLayout(ctx, b.LayoutDir(t), pub, opts...)
		if r != nil {
			r.Print(b.opts.Log)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("image %s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}

// verifyKey is GANTRY_VERIFY_KEY, else the signing key's public half.
func (b *Build) verifyKey(ctx context.Context) (crypto.PublicKey, error) {
	sc := b.Config.Sign
	if sc.VerifyKey != "" {
		ref := keys.Ref{Key: sc.VerifyKey, KMS: kmsConfig(sc)}
		if sc.VerifyKeyPEM != "" {
			ref.PEM = []byte(sc.VerifyKeyPEM)
		}
		return keys.LoadPublicKey(ctx, ref)
	}
	if sc.Keyless.Enabled {
		return nil, errors.New("keyless signatures are verified by identity, not key: set GANTRY_VERIFY_IDENTITY and GANTRY_VERIFY_ISSUER (and GANTRY_TRUSTED_ROOT for a private stack)")
	}
	if !sc.Enabled() {
		return nil, errors.New("no public key to verify with: set GANTRY_VERIFY_KEY to the public key (e.g. cosign.pub), or GANTRY_SIGN_KEY to the key pair; keyless: GANTRY_VERIFY_IDENTITY and GANTRY_VERIFY_ISSUER")
	}
	s, err := b.loadSigner(ctx)
	if err != nil {
		return nil, err
	}
	return s.PublicKey(), nil
}

// remoteRef parses a pushed image reference with the push settings:
// insecure registries and credentials.
func (b *Build) remoteRef(s string) (name.Reference, []remote.Option, error) {
	pc := b.Config.Push
	ref, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		return nil, nil, fmt.Errorf("GANTRY_VERIFY_IMAGE=%q is not an image reference (e.g. ghcr.io/org/app:v1.2.3 or …@sha256:…): %w", s, err)
	}
	if slices.Contains(pc.Insecure, ref.Context().RegistryStr()) {
		if ref, err = name.ParseReference(s, name.StrictValidation, name.Insecure); err != nil {
			return nil, nil, err
		}
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if pc.Username != "" {
		opts = []remote.Option{remote.WithAuth(&authn.Basic{Username: pc.Username, Password: pc.Password.Reveal()})}
	}
	return ref, opts, nil
}

func signerRef(sc config.SignConfig) keys.Ref {
	r := keys.Ref{Key: sc.KeyLabel(), Password: []byte(sc.Password.Reveal()), KMS: kmsConfig(sc)}
	if sc.KeyPEM != "" {
		r.PEM = []byte(sc.KeyPEM.Reveal())
	}
	return r
}

func kmsConfig(sc config.SignConfig) keys.KMS {
	return keys.KMS{Address: sc.VaultAddr, Token: sc.VaultToken.Reveal()}
}

// identity is the repository a legacy payload claims: the first push
// destination, else the image name.
func identity(t config.ResolvedImage) string {
	if len(t.Repos) > 0 {
		return t.Repos[0]
	}
	return t.Name
}
