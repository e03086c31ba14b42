package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadSign(t *testing.T) {
	root := app(t, "hello")
	const pemKey = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	for _, tc := range []struct {
		name    string
		project Sign
		env     map[string]string
		want    SignConfig
		enabled bool
	}{
		{"zero", Sign{}, nil,
			SignConfig{Sign: Sign{Format: "both", KeygenPrefix: filepath.Join(root, "cosign")}}, false},
		{"file from the magefile", Sign{Key: "keys/cosign.key", VerifyKey: "keys/cosign.pub", Format: "bundle"}, nil,
			SignConfig{Sign: Sign{Key: filepath.Join(root, "keys/cosign.key"), VerifyKey: filepath.Join(root, "keys/cosign.pub"), Format: "bundle", KeygenPrefix: filepath.Join(root, "cosign")}}, true},
		{"env over magefile", Sign{Key: "a.key", Format: "bundle"}, map[string]string{"GANTRY_SIGN_KEY": "/k/b.key", "GANTRY_SIGN_FORMAT": "legacy", "COSIGN_PASSWORD": "pw", "GANTRY_KEYGEN_PREFIX": "/k/release"},
			SignConfig{Sign: Sign{Key: "/k/b.key", Format: "legacy", KeygenPrefix: "/k/release"}, Password: "pw", HasPassword: true}, true},
		{"empty password is a password", Sign{}, map[string]string{"COSIGN_PASSWORD": ""},
			SignConfig{Sign: Sign{Format: "both", KeygenPrefix: filepath.Join(root, "cosign")}, HasPassword: true}, false},
		{"env reference", Sign{}, map[string]string{"GANTRY_SIGN_KEY": "env://COSIGN_KEY", "COSIGN_KEY": pemKey, "GANTRY_VERIFY_KEY": "env://COSIGN_PUB", "COSIGN_PUB": "PUB"},
			SignConfig{Sign: Sign{Key: "env://COSIGN_KEY", VerifyKey: "env://COSIGN_PUB", Format: "both", KeygenPrefix: filepath.Join(root, "cosign")}, KeyPEM: Secret(strings.TrimSpace(pemKey)), VerifyKeyPEM: "PUB"}, true},
		{"env reference, empty (pull request)", Sign{}, map[string]string{"GANTRY_SIGN_KEY": "env://COSIGN_KEY"},
			SignConfig{Sign: Sign{Key: "env://COSIGN_KEY", Format: "both", KeygenPrefix: filepath.Join(root, "cosign")}, Skipped: "GANTRY_SIGN_KEY is env://COSIGN_KEY but COSIGN_KEY is empty"}, false},
		{"inline key", Sign{}, map[string]string{"GANTRY_SIGN_KEY": pemKey},
			SignConfig{Sign: Sign{Key: strings.TrimSpace(pemKey), Format: "both", KeygenPrefix: filepath.Join(root, "cosign")}, KeyPEM: Secret(strings.TrimSpace(pemKey))}, true},
		{"kms", Sign{Key: "hashivault://release"}, map[string]string{"VAULT_ADDR": "https://vault:8200", "VAULT_TOKEN": "s.tok", "GANTRY_VERIFY_IMAGE": "ghcr.io/org/app:v1"},
			SignConfig{Sign: Sign{Key: "hashivault://release", Format: "both", KeygenPrefix: filepath.Join(root, "cosign")}, VaultAddr: "https://vault:8200", VaultToken: "s.tok", VerifyImage: "ghcr.io/org/app:v1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(Project{Sign: tc.project}, MapEnv(tc.env), root)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.Sign); diff != "" {
				t.Errorf("Sign (-want +got):\n%s", diff)
			}
			if c.Sign.Enabled() != tc.enabled {
				t.Errorf("Enabled = %t, want %t", c.Sign.Enabled(), tc.enabled)
			}
		})
	}
}

func TestLoadSignErrors(t *testing.T) {
	root := app(t, "hello")
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GANTRY_SIGN_FORMAT": "cosign"}, `signature format "cosign" is unknown: use both (default), bundle or legacy (GANTRY_SIGN_FORMAT)`},
		{map[string]string{"GANTRY_SIGN_KEY": "env://"}, "does not name a variable"},
		{map[string]string{"GANTRY_SIGN_KEY": "env://A=B"}, "does not name a variable"},
		{map[string]string{"GANTRY_VERIFY_KEY": "env://PUB"}, "GANTRY_VERIFY_KEY is env://PUB but PUB is empty"},
	} {
		_, err := Load(Project{}, MapEnv(tc.env), root)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v) = %v, want %q", tc.env, err, tc.want)
		}
	}
}

// `go tool mage config` shows where the key is, never a secret.
func TestPrintSignHidesSecrets(t *testing.T) {
	root := app(t, "hello")
	const body = "c2VjcmV0LWtleS1ieXRlcw"
	pemKey := "-----BEGIN PRIVATE KEY-----\n" + body + "==\n-----END PRIVATE KEY-----"
	for _, env := range []map[string]string{
		{"GANTRY_SIGN_KEY": pemKey, "COSIGN_PASSWORD": "pass-word-1", "VAULT_TOKEN": "s.vault-token-2"},
		{"GANTRY_SIGN_KEY": "env://K", "K": pemKey, "COSIGN_PASSWORD": "pass-word-1"},
	} {
		c, err := Load(Project{}, MapEnv(env), root)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := Print(&b, c, MapEnv(env)); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, secret := range []string{body, "pass-word-1", "s.vault-token-2"} {
			if strings.Contains(out, secret) {
				t.Errorf("config output reveals %q:\n%s", secret, out)
			}
		}
		if !strings.Contains(out, "sign  ") && !strings.Contains(out, "sign\t") && !strings.Contains(out, "\nsign ") {
			t.Errorf("config output has no sign line:\n%s", out)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	root := app(t, "hello")
	c, err := Load(Project{Sign: Sign{Key: "k/cosign.key", VerifyKey: "hashivault://x"}}, nil, root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, "cosign.key"), filepath.Join(root, "cosign.pub"), filepath.Join(root, "k/cosign.key")}
	if diff := cmp.Diff(want, c.Sign.KeyFiles()); diff != "" {
		t.Errorf("KeyFiles (-want +got):\n%s", diff)
	}
}

func TestPrintSignOffNamesTheMageCommand(t *testing.T) {
	for _, mage := range []string{"go tool mage", "go -C magefiles tool mage -w .."} {
		var b strings.Builder
		printSign(&b, SignConfig{}, mage)
		if want := "`" + mage + " keygen` makes a key pair"; !strings.Contains(b.String(), want) {
			t.Errorf("sign off line %q lacks %q", b.String(), want)
		}
	}
}
