package push

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
)

const (
	testUser     = "ci-bot"
	testPassword = "pw-Zq8!hunter2-do-not-print"
)

// TestPushBasicAuth runs against a registry with htpasswd auth: without or
// with wrong credentials the push fails saying how to log in, and neither
// the error nor the progress output holds the password; with the right
// ones it succeeds.
func TestPushBasicAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd(testUser, testPassword))
	dir, idx := twoArch(t, "v1.0.0", 8)

	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"no credentials", nil},
		{"wrong password", []Option{WithCredentials(testUser, testPassword+"-wrong")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := pushOne(t, dir, reg.Repo("private"), append(tc.opts, WithProgress(Plain(&out)))...)
			if err == nil {
				t.Fatal("push succeeded")
			}
			msg := err.Error()
			for _, want := range []string{"401", "docker login " + reg.Host, "GANTRY_REGISTRY_USERNAME", "no tag was moved"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			for _, secret := range []string{testPassword, "hunter2"} {
				if strings.Contains(msg, secret) || strings.Contains(out.String(), secret) {
					t.Errorf("the password appears in the error %q or the output %q", msg, out.String())
				}
			}
		})
	}

	res, err := pushOne(t, dir, reg.Repo("private"), WithCredentials(testUser, testPassword))
	if err != nil {
		t.Fatalf("push with the right credentials: %v", err)
	}
	if res.Images[0].Index.Digest != idx.Digest {
		t.Errorf("pushed %s, want %s", res.Images[0].Index.Digest, idx.Digest)
	}
}

// TestPushTokenRenewal puts bearer token auth in front of the registry,
// with tokens that expire after 30 ms: the push renews them and completes. A wrong password fails without printing it.
func TestPushTokenRenewal(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 9)
	proxy.RequireTokens(testUser, testPassword, 30*time.Millisecond)
	dir, idx := twoArch(t, "v1.1.0", 9)

	res, err := pushOne(t, dir, proxy.Repo("tokens"), WithCredentials(testUser, testPassword))
	if err != nil {
		t.Fatalf("push with expiring tokens: %v", err)
	}
	if res.Images[0].Index.Digest != idx.Digest || remoteDigest(t, reg.Repo("tokens:v1.1.0")) != idx.Digest.String() {
		t.Errorf("tokens:v1.1.0 = %s, want %s", remoteDigest(t, reg.Repo("tokens:v1.1.0")), idx.Digest)
	}
	if n := proxy.Counts().TokensIssued; n < 3 {
		t.Errorf("%d tokens issued: the test did not make any expire", n)
	}

	// Faults and expiring tokens together.
	proxy.SetFaults(theBar)
	if _, err := pushOne(t, dir, proxy.Repo("tokens-faulty"), WithCredentials(testUser, testPassword)); err != nil {
		t.Errorf("push with expiring tokens through faults: %v", err)
	}
	proxy.SetFaults(registrytest.Faults{})

	_, err = pushOne(t, dir, proxy.Repo("tokens2"), WithCredentials(testUser, "not-"+testPassword))
	if err == nil || strings.Contains(err.Error(), testPassword) || !strings.Contains(err.Error(), "docker login") {
		t.Errorf("push with a wrong password: error = %v; want a login hint without the password", err)
	}
}
