package sbom_test

import (
	"context"
	"crypto"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/sign/keys"
)

func readIndex(t testing.TB, dir string) *v1.IndexManifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

func loadPub(t testing.TB, path string) crypto.PublicKey {
	t.Helper()
	pub, err := keys.LoadPublicKey(context.Background(), keys.Ref{Key: path})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

func anonymousAuth() remote.Option { return remote.WithAuthFromKeychain(anonymous{}) }
