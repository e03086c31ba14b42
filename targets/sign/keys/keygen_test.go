package keys_test

import (
	"context"
	"crypto"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/sign/keys"
)

func TestWriteKeyPair(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "release")
	keyPath, pubPath, err := keys.WriteKeyPair(prefix, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	if keyPath != prefix+".key" || pubPath != prefix+".pub" {
		t.Errorf("wrote %s and %s, want %s.key and %s.pub", keyPath, pubPath, prefix, prefix)
	}
	for path, mode := range map[string]os.FileMode{keyPath: 0o600, pubPath: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&^mode != 0 {
			t.Errorf("%s has mode %v, want at most %v", path, fi.Mode().Perm(), mode)
		}
	}
	priv, _ := os.ReadFile(keyPath)
	pub, _ := os.ReadFile(pubPath)
	if b, _ := pem.Decode(priv); b == nil || b.Type != keys.SigstorePrivateKeyType {
		t.Errorf("private key is not a PEM %q block:\n%s", keys.SigstorePrivateKeyType, priv)
	}
	s, err := keys.LoadSigner(context.Background(), keys.Ref{Key: keyPath, Password: []byte(password)})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := keys.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(s.PublicKey(), pk) {
		t.Errorf("the public key file does not match the private key")
	}
	if d, _ := keys.Describe(pk); d != "ECDSA P-256" {
		t.Errorf("keygen made a %s key, want ECDSA P-256 (cosign's default)", d)
	}
	if _, err := keys.LoadSigner(context.Background(), keys.Ref{Key: keyPath, Password: []byte("nope-nope")}); !errors.Is(err, keys.ErrWrongPassword) {
		t.Errorf("wrong password: error = %v, want ErrWrongPassword", err)
	}

	// Never replace a key.
	before, _ := os.ReadFile(keyPath)
	if _, _, err := keys.WriteKeyPair(prefix, []byte(password)); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second WriteKeyPair: error = %v, want already exists", err)
	}
	if after, _ := os.ReadFile(keyPath); string(after) != string(before) {
		t.Errorf("second WriteKeyPair replaced the key")
	}
	os.Remove(keyPath)
	if _, _, err := keys.WriteKeyPair(prefix, []byte(password)); err == nil {
		t.Errorf("WriteKeyPair with only the .pub present succeeded")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "unreadable.key")
	os.WriteFile(unreadable, []byte("x"), 0o000)
	for _, tc := range []struct {
		name string
		ref  keys.Ref
		want string
	}{
		{"missing file", keys.Ref{Key: filepath.Join(dir, "nope.key")}, "does not exist: generate a pair with keygen"},
		{"directory", keys.Ref{Key: dir}, "is unreadable"},
		{"empty env", keys.Ref{Key: "env://K", PEM: []byte{}}, "key env://K is empty"},
		{"no key", keys.Ref{}, "no key configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.LoadSigner(context.Background(), tc.ref)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	if os.Geteuid() != 0 { // root reads anything
		if _, err := keys.LoadSigner(context.Background(), keys.Ref{Key: unreadable}); err == nil || !strings.Contains(err.Error(), "unreadable") {
			t.Errorf("unreadable file: error = %v", err)
		}
	}
}

// Keys made by `cosign generate-key-pair` load, with their password.
func TestLoadsCosignKeys(t *testing.T) {
	for _, tool := range []string{"cosign-v2", "cosign-v3"} {
		t.Run(tool, func(t *testing.T) {
			bin := ocitest.NeedTool(t, tool)
			dir := t.TempDir()
			cmd := exec.Command(bin, "generate-key-pair")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+password)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s generate-key-pair: %v\n%s", tool, err, out)
			}
			s, err := keys.LoadSigner(context.Background(), keys.Ref{Key: filepath.Join(dir, "cosign.key"), Password: []byte(password)})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := keys.LoadPublicKey(context.Background(), keys.Ref{Key: filepath.Join(dir, "cosign.pub")})
			if err != nil {
				t.Fatal(err)
			}
			if !sameKey(s.PublicKey(), pub) {
				t.Errorf("cosign.pub does not match cosign.key as loaded")
			}
		})
	}
}

func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
