package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
)

// fakeVault serves the two calls of Vault's transit secrets engine that
// sigstore's hashivault provider makes: read a key's public half, sign a
// digest. Vault itself cannot run here; the provider, its HTTP client and
// the request/response shapes are the real ones.
type fakeVault struct {
	key   *ecdsa.PrivateKey
	token string
	signs atomic.Int32
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Vault-Token") != f.token {
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"errors": []string{"permission denied"}})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/transit/keys/release":
		pub, _ := cryptoutils.MarshalPublicKeyToPEM(f.key.Public())
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
			"latest_version": 1,
			"keys":           map[string]any{"1": map[string]any{"name": "P-256", "public_key": string(pub)}},
		}})
	case (r.Method == http.MethodPut || r.Method == http.MethodPost) && r.URL.Path == "/v1/transit/sign/release/sha2-256":
		var req struct {
			Input     string `json:"input"`
			Prehashed bool   `json:"prehashed"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !req.Prehashed {
			http.Error(w, `{"errors":["bad request"]}`, http.StatusBadRequest)
			return
		}
		digest, _ := base64.StdEncoding.DecodeString(req.Input)
		sig, err := ecdsa.SignASN1(rand.Reader, f.key, digest)
		if err != nil {
			http.Error(w, `{"errors":["sign"]}`, http.StatusInternalServerError)
			return
		}
		f.signs.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"signature": "vault:v1:" + base64.StdEncoding.EncodeToString(sig)}})
	default: // as Vault answers for a key it does not have
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"errors": []string{}})
	}
}

func startVault(t *testing.T) (*fakeVault, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeVault{key: key, token: "s.secret-vault-token"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func TestHashiVaultSignsAndVerifies(t *testing.T) {
	ctx := context.Background()
	vault, addr := startVault(t)
	cfg := keys.KMS{Address: addr, Token: vault.token}
	s, err := keys.LoadSigner(ctx, keys.Ref{Key: "hashivault://release", KMS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(s.PublicKey(), vault.key.Public()) {
		t.Fatalf("the KMS signer's public key is not Vault's")
	}
	dir := t.TempDir() + "/hello"
	registrytest.WriteLayout(t, dir, "v1.0.0", 1, 1, 100, "linux/amd64", "linux/arm64")
	if _, err := sign.Layout(ctx, dir, s); err != nil {
		t.Fatal(err)
	}
	if n := vault.signs.Load(); n != 6 {
		t.Errorf("Vault signed %d times, want 6 (index and 2 platforms, 2 formats)", n)
	}
	pub, err := keys.LoadPublicKey(ctx, keys.Ref{Key: "hashivault://release", KMS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.VerifyLayout(ctx, dir, pub); err != nil {
		t.Errorf("verifying what the KMS key signed: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := sign.VerifyLayout(ctx, dir, other.Public()); err == nil {
		t.Errorf("an unrelated key verifies the KMS signatures")
	}
}

func TestKMSErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vault, addr := startVault(t)
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}()
	for _, tc := range []struct {
		name string
		ref  keys.Ref
		want string
	}{
		{"unreachable", keys.Ref{Key: "hashivault://release", KMS: keys.KMS{Address: closed, Token: vault.token}}, "hashivault://release is unreachable or missing"},
		{"wrong token", keys.Ref{Key: "hashivault://release", KMS: keys.KMS{Address: addr, Token: "s.wrong-token-value"}}, "permission denied"},
		{"missing key", keys.Ref{Key: "hashivault://nosuchkey", KMS: keys.KMS{Address: addr, Token: vault.token}}, "hashivault://nosuchkey is unreachable or missing"},
		{"bad reference", keys.Ref{Key: "hashivault://a/b", KMS: keys.KMS{Address: addr, Token: vault.token}}, "hashivault://<key>"},
		{"no provider", keys.Ref{Key: "nosuchkms://key"}, "no provider for nosuchkms:// (built in: hashivault://, openbao://; others need a sigstore-kms-nosuchkms plugin on PATH)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.LoadSigner(ctx, tc.ref)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			for _, secret := range []string{vault.token, tc.ref.KMS.Token} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals the Vault token: %v", err)
				}
			}
		})
	}
}
