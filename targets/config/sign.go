package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Sign configures signing (the sign target, and release when a key is set)
// and signature verification (verify:signature). The zero value signs
// nothing: release says it skipped signing.
type Sign struct {
	// Key is the private key: a cosign key file (encrypted, password in
	// COSIGN_PASSWORD), an unencrypted PEM key file, env://VAR naming a
	// variable that holds either, or a KMS URI such as hashivault://release.
	Key string
	// VerifyKey is the public key verify:signature checks against: a PEM
	// file (cosign.pub), env://VAR, or a KMS URI; default: Key's public half.
	VerifyKey string
	// Format selects the signature formats: "both" (default), "bundle"
	// (sigstore bundle as an OCI referrer) or "legacy" (sha256-<hex>.sig).
	Format string
	// KeygenPrefix is where keygen writes <prefix>.key and <prefix>.pub;
	// default "cosign".
	KeygenPrefix string
	// Keyless signs with the CI job's identity instead of a key, and
	// names the identity verify:signature expects.
	Keyless Keyless
}

// SignConfig is the effective signing configuration: Sign with the
// environment applied and the secrets it names.
type SignConfig struct {
	Sign
	Keyless      KeylessConfig
	KeyPEM       Secret // key material, when Key is env://VAR or holds a PEM key itself
	VerifyKeyPEM string // public key material, when VerifyKey is env://VAR
	Password     Secret // COSIGN_PASSWORD: decrypts a cosign key; encrypts keygen's
	HasPassword  bool   // COSIGN_PASSWORD is set (possibly empty)
	VaultAddr    string // VAULT_ADDR: Vault (or OpenBao) for hashivault:// keys
	VaultToken   Secret // VAULT_TOKEN
	VerifyImage  string // GANTRY_VERIFY_IMAGE: a pushed image to verify instead of the layouts
	// Skipped says why no key is configured although Key is set (env://VAR
	// with VAR empty, as in pull-request builds that get no secrets).
	Skipped string
}

// signFormats are the values Sign.Format may hold.
var signFormats = []string{"both", "bundle", "legacy"}

// DefaultKeygenPrefix is where keygen writes the key pair by default.
const DefaultKeygenPrefix = "cosign"

// Enabled reports whether a signing key, or keyless signing, is
// configured.
func (s SignConfig) Enabled() bool { return (s.Key != "" || s.Keyless.Enabled) && s.Skipped == "" }

// KeyLabel names the key for messages without revealing it: the file, the
// env:// reference or the KMS URI; a key given inline is "(PEM key in
// GANTRY_SIGN_KEY)".
func (s SignConfig) KeyLabel() string {
	if s.Keyless.Enabled {
		return "keyless (an ephemeral key certified for the job's identity)"
	}
	if isPEM(s.Key) {
		return "(PEM key in GANTRY_SIGN_KEY)"
	}
	return s.Key
}

// loadSign applies the environment over s and validates it; key files are
// resolved against root.
func loadSign(s Sign, env Env, root string) (SignConfig, error) {
	c := SignConfig{Sign: s}
	if v, ok := env.lookup("GANTRY_SIGN_KEY"); ok {
		c.Key = v
	}
	if v, ok := env.lookup("GANTRY_VERIFY_KEY"); ok {
		c.VerifyKey = v
	}
	if v, ok := env.lookup("GANTRY_SIGN_FORMAT"); ok {
		c.Format = v
	}
	if v, ok := env.lookup("GANTRY_KEYGEN_PREFIX"); ok {
		c.KeygenPrefix = v
	}
	c.VerifyImage, _ = env.lookup("GANTRY_VERIFY_IMAGE")
	c.VaultAddr, _ = env.lookup("VAULT_ADDR")
	if v, ok := env.lookup("VAULT_TOKEN"); ok {
		c.VaultToken = Secret(v)
	}
	// COSIGN_PASSWORD may be set and empty (a key without a password).
	if env != nil {
		if v, ok := env("COSIGN_PASSWORD"); ok {
			c.Password, c.HasPassword = Secret(v), true
		}
	}
	k, err := loadKeyless(s.Keyless, env, root)
	if err != nil {
		return c, err
	}
	c.Keyless = k
	if k.Enabled && c.Key != "" {
		return c, errors.New("GANTRY_SIGN_KEY and GANTRY_SIGN_KEYLESS=1 are both set: sign with a key or keyless, not both (unset one)")
	}
	if k.Enabled && !k.HasToken() {
		c.Skipped = "keyless signing has no identity token: " + noTokenHelp
	}
	if c.Format == "" {
		c.Format = "both"
	}
	if !slices.Contains(signFormats, c.Format) {
		return c, fmt.Errorf("signature format %q is unknown: use both (default), bundle or legacy (GANTRY_SIGN_FORMAT)", c.Format)
	}
	if c.KeygenPrefix == "" {
		c.KeygenPrefix = DefaultKeygenPrefix
	}
	c.KeygenPrefix = abs(root, c.KeygenPrefix)
	if isFile(c.Key) {
		c.Key = abs(root, c.Key)
	}
	if isFile(c.VerifyKey) {
		c.VerifyKey = abs(root, c.VerifyKey)
	}
	switch {
	case isPEM(c.Key):
		c.KeyPEM = Secret(c.Key)
	case strings.HasPrefix(c.Key, "env://"):
		v, err := envRef(env, c.Key, "GANTRY_SIGN_KEY")
		if err != nil {
			return c, err
		}
		if v == "" {
			c.Skipped = fmt.Sprintf("GANTRY_SIGN_KEY is %s but %s is empty", c.Key, strings.TrimPrefix(c.Key, "env://"))
		}
		c.KeyPEM = Secret(v)
	}
	if strings.HasPrefix(c.VerifyKey, "env://") {
		v, err := envRef(env, c.VerifyKey, "GANTRY_VERIFY_KEY")
		if err != nil {
			return c, err
		}
		if v == "" {
			return c, fmt.Errorf("GANTRY_VERIFY_KEY is %s but %s is empty: set it to the public key (the PEM of cosign.pub)", c.VerifyKey, strings.TrimPrefix(c.VerifyKey, "env://"))
		}
		c.VerifyKeyPEM = v
	}
	return c, nil
}

// envRef reads the variable an env://VAR reference names: any variable
// the user chooses (a CI secret), read here like every other variable.
func envRef(env Env, ref, from string) (string, error) {
	name := strings.TrimPrefix(ref, "env://")
	if name == "" || strings.ContainsAny(name, "=/ \t") {
		return "", fmt.Errorf("%s=%s does not name a variable: write env://VAR, e.g. env://COSIGN_PRIVATE_KEY", from, ref)
	}
	if env == nil {
		return "", nil
	}
	v, _ := env(name)
	return strings.TrimSpace(v), nil
}

func isPEM(s string) bool { return strings.Contains(s, "-----BEGIN ") }

// isFile tells a key file from env://VAR, a KMS URI or inline PEM.
func isFile(s string) bool { return s != "" && !isPEM(s) && !strings.Contains(s, "://") }

// KeyFiles are the key files the configuration names: the signing and
// verify keys, and the pair keygen writes. A key is never committed and is
// no input of the build, so the dirty check ignores these paths.
func (s SignConfig) KeyFiles() []string {
	out := []string{s.KeygenPrefix + ".key", s.KeygenPrefix + ".pub"}
	for _, k := range []string{s.Key, s.VerifyKey} {
		if isFile(k) {
			out = append(out, k)
		}
	}
	return out
}

// printSign writes the signing settings of Print (never a secret).
func printSign(w io.Writer, c SignConfig, mage string) {
	switch {
	case c.Key == "" && !c.Keyless.Enabled:
		fmt.Fprintf(w, "sign\toff (set GANTRY_SIGN_KEY to sign, or GANTRY_SIGN_KEYLESS=1 in CI; `%s keygen` makes a key pair)\n", mage)
	case c.Skipped != "":
		fmt.Fprintf(w, "sign\toff: %s\n", c.Skipped)
	default:
		fmt.Fprintf(w, "sign\t%s, format %s\n", c.KeyLabel(), c.Format)
	}
	if c.VerifyKey != "" {
		fmt.Fprintf(w, "  verify key\t%s\n", c.VerifyKey)
	}
	printKeyless(w, c.Keyless)
}

// noTokenHelp says where keyless signing's identity token comes from.
const noTokenHelp = "set SIGSTORE_ID_TOKEN; on GitHub Actions give the job `permissions: id-token: write` (pull requests from forks get no token); on GitLab declare `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`"
