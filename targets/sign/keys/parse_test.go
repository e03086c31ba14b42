package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/gantrybuild/gantry/targets/sign/keys"
)

// testKeys are generated once: RSA generation is slow.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	must := func(k crypto.Signer, err error) crypto.Signer {
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]crypto.Signer{
		"p256":    must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		"p384":    must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)),
		"p521":    must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)),
		"ed25519": ed,
		"rsa2048": must(rsa.GenerateKey(rand.Reader, 2048)),
		"rsa1024": must(rsa.GenerateKey(rand.Reader, 1024)),
	}
})

func pemOf(t testing.TB, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func cosignKey(t testing.TB, typ string, k crypto.Signer, password string) []byte {
	t.Helper()
	enc, err := encrypted.Encrypt(pkcs8(t, k), []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, typ, enc)
}

const password = "correct horse battery staple"

func TestParsePrivateKey(t *testing.T) {
	k := testKeys()
	sec1, err := x509.MarshalECPrivateKey(k["p256"].(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(k["p256"].Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		pem      []byte
		password string
		want     string // Describe of the key; "" when an error is expected
		err      error
		errText  string
	}{
		{"cosign sigstore p256", cosignKey(t, keys.SigstorePrivateKeyType, k["p256"], password), password, "ECDSA P-256", nil, ""},
		{"cosign legacy p256", cosignKey(t, keys.CosignPrivateKeyType, k["p256"], password), password, "ECDSA P-256", nil, ""},
		{"cosign empty password", cosignKey(t, keys.SigstorePrivateKeyType, k["p256"], ""), "", "ECDSA P-256", nil, ""},
		{"cosign wrong password", cosignKey(t, keys.SigstorePrivateKeyType, k["p256"], password), "hunter2-not-it", "", keys.ErrWrongPassword, "COSIGN_PASSWORD"},
		{"cosign no password", cosignKey(t, keys.SigstorePrivateKeyType, k["p256"], password), "", "", keys.ErrWrongPassword, "set COSIGN_PASSWORD"},
		{"cosign ed25519", cosignKey(t, keys.SigstorePrivateKeyType, k["ed25519"], password), password, "Ed25519", nil, ""},
		{"pkcs8 p256", pemOf(t, "PRIVATE KEY", pkcs8(t, k["p256"])), "", "ECDSA P-256", nil, ""},
		{"pkcs8 p384", pemOf(t, "PRIVATE KEY", pkcs8(t, k["p384"])), "", "ECDSA P-384", nil, ""},
		{"pkcs8 ed25519", pemOf(t, "PRIVATE KEY", pkcs8(t, k["ed25519"])), "", "Ed25519", nil, ""},
		{"pkcs8 rsa2048", pemOf(t, "PRIVATE KEY", pkcs8(t, k["rsa2048"])), "", "RSA 2048", nil, ""},
		{"sec1 p256", pemOf(t, "EC PRIVATE KEY", sec1), "", "ECDSA P-256", nil, ""},
		{"pkcs1 rsa2048", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k["rsa2048"].(*rsa.PrivateKey))), "", "RSA 2048", nil, ""},
		{"rsa1024", pemOf(t, "PRIVATE KEY", pkcs8(t, k["rsa1024"])), "", "", keys.ErrUnsupported, "at least 2048"},
		{"p521", pemOf(t, "PRIVATE KEY", pkcs8(t, k["p521"])), "", "", keys.ErrUnsupported, "use P-256 or P-384"},
		{"label mismatch", pemOf(t, "EC PRIVATE KEY", pkcs8(t, k["rsa2048"])), "", "", keys.ErrUnsupported, "PKCS#8 RSA key: label it PRIVATE KEY"},
		{"rsa label on ec", pemOf(t, "RSA PRIVATE KEY", sec1), "", "", keys.ErrUnsupported, "label it EC PRIVATE KEY"},
		{"public key", pemOf(t, "PUBLIC KEY", pub), "", "", keys.ErrUnsupported, "GANTRY_VERIFY_KEY"},
		{"pkcs8 encrypted", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), "", "", keys.ErrUnsupported, "cosign import-key-pair"},
		{"certificate", pemOf(t, "CERTIFICATE", []byte{1, 2, 3}), "", "", keys.ErrUnsupported, `"CERTIFICATE" is not a private key type`},
		{"not pem", []byte("hello"), "", "", keys.ErrUnsupported, "not a PEM-encoded key"},
		{"corrupt cosign key", pemOf(t, keys.SigstorePrivateKeyType, []byte("{}")), password, "", keys.ErrWrongPassword, "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := keys.ParsePrivateKey(tc.pem, []byte(tc.password))
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("error = %v, want %v containing %q", err, tc.err, tc.errText)
				}
				assertNoSecret(t, err.Error(), tc.pem, tc.password)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := keys.Describe(key.Public()); got != tc.want {
				t.Errorf("key is %s, want %s", got, tc.want)
			}
		})
	}
}

// assertNoSecret fails when msg holds the password or any 12 characters of
// the key's PEM body.
func assertNoSecret(t testing.TB, msg string, keyPEM []byte, password string) {
	t.Helper()
	if len(password) > 3 && strings.Contains(msg, password) {
		t.Errorf("message reveals the password: %s", msg)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return
	}
	body := base64.StdEncoding.EncodeToString(block.Bytes)
	for i := 0; i+12 <= len(body); i += 6 {
		if strings.Contains(msg, body[i:i+12]) {
			t.Errorf("message reveals key material: %s", msg)
			return
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		name    string
		pem     func() []byte
		want    string
		errText string
	}{
		{"p256", func() []byte { d, _ := x509.MarshalPKIXPublicKey(k["p256"].Public()); return pemOf(t, "PUBLIC KEY", d) }, "ECDSA P-256", ""},
		{"ed25519", func() []byte {
			d, _ := x509.MarshalPKIXPublicKey(k["ed25519"].Public())
			return pemOf(t, "PUBLIC KEY", d)
		}, "Ed25519", ""},
		{"rsa1024", func() []byte {
			d, _ := x509.MarshalPKIXPublicKey(k["rsa1024"].Public())
			return pemOf(t, "PUBLIC KEY", d)
		}, "", "at least 2048"},
		{"private key", func() []byte { return pemOf(t, "PRIVATE KEY", pkcs8(t, k["p256"])) }, "", "keep the private key out"},
		{"garbage body", func() []byte { return pemOf(t, "PUBLIC KEY", []byte{1, 2}) }, "", "does not hold a PKIX public key"},
		{"not pem", func() []byte { return []byte("ssh-ed25519 AAAA") }, "", "not a PEM-encoded public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := keys.ParsePublicKey(tc.pem())
			if tc.errText != "" {
				if !errors.Is(err, keys.ErrUnsupported) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("error = %v, want one containing %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := keys.Describe(pub); got != tc.want {
				t.Errorf("key is %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	rsaOf := func(bits int) *rsa.PublicKey {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		return &rsa.PublicKey{N: n.Add(n, big.NewInt(1)), E: 65537}
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	for _, tc := range []struct {
		key  crypto.PublicKey
		want string
	}{
		{testKeys()["p256"].Public(), "ECDSA P-256"},
		{testKeys()["p384"].Public(), "ECDSA P-384"},
		{testKeys()["ed25519"].Public(), "Ed25519"},
		{rsaOf(2048), "RSA 2048"},
		{rsaOf(3072), "RSA 3072"},
		{rsaOf(4096), "RSA 4096"},
		{rsaOf(2047), ""},
		{rsaOf(2304), ""},
		{rsaOf(1024), ""},
		{p224.Public(), ""},
		{testKeys()["p521"].Public(), ""},
		{"not a key", ""},
	} {
		got, err := keys.Describe(tc.key)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("Describe(%T) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
		if err != nil && !errors.Is(err, keys.ErrUnsupported) {
			t.Errorf("Describe(%T) error %v is not ErrUnsupported", tc.key, err)
		}
	}
}

func TestIsKMS(t *testing.T) {
	for ref, want := range map[string]bool{
		"hashivault://release":                                    true,
		"awskms:///arn:aws:kms:us-east-1:1:key":                   true,
		"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k": true,
		"env://COSIGN_KEY":                                        false,
		"cosign.key":                                              false,
		"./keys/cosign.key":                                       false,
		"/abs/cosign.key":                                         false,
		"file://cosign.key":                                       false,
		"hashivault://":                                           false,
		"C:\\keys\\cosign.key":                                    false,
		"dir.d://weird":                                           false,
	} {
		if got := keys.IsKMS(ref); got != want {
			t.Errorf("IsKMS(%q) = %t, want %t", ref, got, want)
		}
	}
}
