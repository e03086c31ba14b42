package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
)

// TestPushCutOffAfterSignatureTags cuts a push of a signed layout off for
// good right after the registry accepted its first tag (a signature's: they
// go before the image tags). The error must not say "no tag was moved":
// it names every tag the registry now has, and no image tag moved.
func TestPushCutOffAfterSignatureTags(t *testing.T) {
	reg := registrytest.Start(t)
	dir, _ := twoArch(t, "v1.0.0", 11)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.NewSigner("test", key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Layout(context.Background(), dir, signer, sign.WithIdentity(reg.Repo("cut"))); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	cut := false
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		broken := cut
		mu.Unlock()
		if broken {
			return nil, &netError{syscall.ECONNREFUSED}
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") && resp.StatusCode == http.StatusCreated {
			mu.Lock()
			cut = true
			mu.Unlock()
		}
		return resp, err
	})
	_, err = pushOne(t, dir, reg.Repo("cut"), withTransport(rt), WithJobs(1))
	if err == nil {
		t.Fatal("a push cut off midway succeeded")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if strings.Contains(msg, "no tag was moved") || errors.Is(err, errNoTagMoved) {
		t.Errorf("the error claims no tag was moved, yet the registry took a signature tag: %s", msg)
	}
	if !strings.Contains(msg, "no image tag was moved") {
		t.Errorf("the error does not say no image tag moved: %s", msg)
	}

	repo, err := name.NewRepository(reg.Repo("cut"))
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) == 0 {
		t.Fatal("the registry has no tag: the push was cut off before the case this test is about")
	}
	for _, tag := range tags {
		if !strings.HasPrefix(tag, "sha256-") {
			t.Errorf("image tag %s moved in a push that failed before the tags step", tag)
		}
		if !strings.Contains(msg, repo.String()+":"+tag) {
			t.Errorf("the registry has tag %s, which the error does not name: %s", tag, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("the error is not one line: %q", msg)
	}

	// Run again: it completes, and the image tags move last.
	res := mustPush(t, dir, reg.Repo("cut"))
	if !slices.Contains(res.Images[0].Tags, "v1.0.0") {
		t.Errorf("the resumed push tagged %v", res.Images[0].Tags)
	}
}
