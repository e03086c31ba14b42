package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadKeyless(t *testing.T) {
	root := app(t, "hello")
	for _, tc := range []struct {
		name    string
		project Keyless
		env     map[string]string
		want    KeylessConfig
		enabled bool   // signing is on
		skipped string // why signing is off, in part
	}{
		{"off", Keyless{}, nil, KeylessConfig{}, false, ""},
		{"github actions", Keyless{}, map[string]string{"GANTRY_SIGN_KEYLESS": "1", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://actions/token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req"},
			KeylessConfig{Keyless: Keyless{Enabled: true}, ActionsRequestURL: "https://actions/token", ActionsRequestToken: "req"}, true, ""},
		{"gitlab id token, private stack", Keyless{}, map[string]string{"GANTRY_SIGN_KEYLESS": "true", "SIGSTORE_ID_TOKEN": "jwt",
			"GANTRY_FULCIO_URL": "https://fulcio.internal", "GANTRY_REKOR_URL": "none", "GANTRY_TSA_URL": "https://tsa.internal/api/v1/timestamp", "GANTRY_SIGNING_CONFIG": "sigstore/signing_config.json"},
			KeylessConfig{Keyless: Keyless{Enabled: true, FulcioURL: "https://fulcio.internal", RekorURL: "none", TSAURL: "https://tsa.internal/api/v1/timestamp",
				SigningConfig: filepath.Join(root, "sigstore/signing_config.json")}, IDToken: "jwt"}, true, ""},
		{"magefile field, no token (fork pull request)", Keyless{Enabled: true}, nil,
			KeylessConfig{Keyless: Keyless{Enabled: true}}, false, "keyless signing has no identity token"},
		{"request url without its token", Keyless{}, map[string]string{"GANTRY_SIGN_KEYLESS": "1", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://actions/token"},
			KeylessConfig{Keyless: Keyless{Enabled: true}, ActionsRequestURL: "https://actions/token"}, false, "id-token: write"},
		{"verify policy", Keyless{}, map[string]string{"GANTRY_VERIFY_IDENTITY_REGEXP": "^https://github.com/org/app/", "GANTRY_VERIFY_ISSUER": "https://token.actions.githubusercontent.com", "GANTRY_TRUSTED_ROOT": "trusted_root.json"},
			KeylessConfig{Keyless: Keyless{VerifyIdentityRegexp: "^https://github.com/org/app/", VerifyIssuer: "https://token.actions.githubusercontent.com", TrustedRoot: filepath.Join(root, "trusted_root.json")}}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(Project{Sign: Sign{Keyless: tc.project}}, MapEnv(tc.env), root)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.Sign.Keyless); diff != "" {
				t.Errorf("keyless config (-want +got):\n%s", diff)
			}
			if got := c.Sign.Enabled(); got != tc.enabled {
				t.Errorf("Enabled() = %v, want %v", got, tc.enabled)
			}
			if !strings.Contains(c.Sign.Skipped, tc.skipped) || (tc.skipped == "") != (c.Sign.Skipped == "") {
				t.Errorf("Skipped = %q, want it to contain %q", c.Sign.Skipped, tc.skipped)
			}
			var buf bytes.Buffer
			Print(&buf, c, MapEnv(tc.env))
			for _, secret := range []string{"jwt", "req"} {
				if strings.Contains(buf.String(), "\t"+secret) || strings.Contains(buf.String(), "="+secret+"\n") {
					t.Errorf("config print reveals a token:\n%s", buf.String())
				}
			}
		})
	}
}

func TestLoadKeylessErrors(t *testing.T) {
	root := app(t, "hello")
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GANTRY_SIGN_KEYLESS": "yes please"}, `GANTRY_SIGN_KEYLESS="yes please" is not a boolean`},
		{map[string]string{"GANTRY_SIGN_KEYLESS": "1", "GANTRY_SIGN_KEY": "cosign.key"}, "GANTRY_SIGN_KEY and GANTRY_SIGN_KEYLESS=1 are both set"},
		{map[string]string{"GANTRY_VERIFY_ISSUER": "https://token.actions.githubusercontent.com"}, "set GANTRY_VERIFY_IDENTITY"},
		{map[string]string{"GANTRY_VERIFY_IDENTITY": "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main"}, "set GANTRY_VERIFY_ISSUER"},
		{map[string]string{"GANTRY_VERIFY_IDENTITY": "a", "GANTRY_VERIFY_IDENTITY_REGEXP": "b", "GANTRY_VERIFY_ISSUER": "c"}, "both set: set one"},
	} {
		_, err := Load(Project{}, MapEnv(tc.env), root)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.env, err, tc.want)
		}
	}
}
