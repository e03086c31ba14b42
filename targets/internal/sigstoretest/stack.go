// Package sigstoretest runs a private sigstore stack on 127.0.0.1 for
// tests: the real Fulcio (ephemeral CA), Rekor v2 (rekor-tiles, POSIX
// storage) and timestamp authority servers, built from their modules by
// .ci/run, and a small OIDC issuer minting GitHub-Actions-shaped tokens.
// It writes the trusted root and signing config those servers imply.
package sigstoretest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
)

// binaries are the server programs the stack runs, as .ci/run installs
// them.
var binaries = []string{"fulcio", "posix", "timestamp-server"}

// Stack is a running private sigstore deployment.
type Stack struct {
	FulcioURL string
	RekorURL  string // Rekor v2 (its checkpoint origin is the URL's host)
	TSAURL    string // the timestamp endpoint: <base>/api/v1/timestamp
	IssuerURL string // the OIDC issuer Fulcio trusts
	// RequestURL and RequestToken are GitHub Actions'
	// ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN for the issuer.
	RequestURL, RequestToken string

	TrustedRoot   string // trusted_root.json naming the CA, the log and the TSA
	SigningConfig string // signing_config.json naming the three services
	// CAChain and TSAChain are the PEM chains of Fulcio and the TSA, for
	// cosign v2's legacy verify-attestation, which takes no trusted root.
	CAChain, TSAChain string

	dir     string
	issuer  *issuer
	procs   []*proc
	tsaLock *flock.Flock
}

// Token mints an ID token for the default workflow, audience sigstore.
func (s *Stack) Token() (string, error) {
	return s.issuer.Mint(DefaultWorkflow(), "sigstore", time.Now())
}

// TokenFor mints an ID token for w, audience sigstore.
func (s *Stack) TokenFor(w Workflow) (string, error) {
	return s.issuer.Mint(w, "sigstore", time.Now())
}

var (
	sharedOnce sync.Once
	shared     *Stack
	sharedErr  error
)

// Shared returns the package's stack, started on first use: each test
// binary starts the servers once (TestMain calls StopShared). Without the
// server binaries the test is skipped, or fails under CI=true.
func Shared(t testing.TB) *Stack {
	t.Helper()
	ocitest.NeedTools(t, binaries...)
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gantry-sigstore-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = Start(dir)
	})
	if sharedErr != nil {
		t.Fatalf("starting the sigstore stack: %v", sharedErr)
	}
	return shared
}

// Run starts a stack for one test and stops it when the test ends. Without
// the server binaries the test is skipped, or fails under CI=true.
func Run(t testing.TB) *Stack {
	t.Helper()
	ocitest.NeedTools(t, binaries...)
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatalf("starting the sigstore stack: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StopShared stops the shared stack, if one was started, and removes its
// directory.
func StopShared() {
	if shared != nil {
		shared.Stop()
		os.RemoveAll(shared.dir)
	}
}

// Start runs the stack with its state in dir.
func Start(dir string) (_ *Stack, err error) {
	s := &Stack{dir: dir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.issuer, err = startIssuer(); err != nil {
		return nil, fmt.Errorf("oidc issuer: %w", err)
	}
	s.IssuerURL = s.issuer.URL
	s.RequestURL, s.RequestToken = s.issuer.URL+"/token?x=1", s.issuer.RequestToken
	if err := s.startFulcio(); err != nil {
		return nil, err
	}
	rekorKey, err := s.startRekor()
	if err != nil {
		return nil, err
	}
	// timestamp-server always serves metrics on :2112, so one runs at a
	// time on a machine: test packages running in parallel take turns.
	s.tsaLock = flock.New(filepath.Join(os.TempDir(), "gantry-sigstoretest-tsa.lock"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	locked, err := s.tsaLock.TryLockContext(ctx, 100*time.Millisecond)
	cancel()
	if err != nil || !locked {
		return nil, fmt.Errorf("waiting for another test's timestamp authority to stop (port 2112): %v", err)
	}
	if err := waitPortFree(":2112", 5*time.Minute); err != nil {
		return nil, err
	}
	if err := s.startTSA(); err != nil {
		return nil, err
	}
	if err := s.writeTrustedRoot(rekorKey); err != nil {
		return nil, err
	}
	if err := s.writeSigningConfig(); err != nil {
		return nil, err
	}
	return s, nil
}

// Stop kills every server.
func (s *Stack) Stop() {
	for _, p := range s.procs {
		p.stop()
	}
	if s.issuer != nil {
		s.issuer.close()
	}
	if s.tsaLock != nil {
		s.tsaLock.Unlock()
	}
}

// Logs returns the tail of every server's output, for a failing test.
func (s *Stack) Logs() string {
	var b strings.Builder
	for _, p := range s.procs {
		fmt.Fprintf(&b, "--- %s\n%s\n", p.name, p.out.Tail(3000))
	}
	return b.String()
}

func (s *Stack) startFulcio() error {
	cfg, err := json.Marshal(map[string]any{
		"OIDCIssuers": map[string]any{
			s.IssuerURL: map[string]string{"IssuerURL": s.IssuerURL, "ClientID": "sigstore", "Type": "github-workflow"},
		},
	})
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(s.dir, "fulcio.json")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	s.FulcioURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	p, err := s.run("fulcio", []string{"serve", "--ca", "ephemeralca", "--config-path", cfgPath,
		"--host", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
		"--grpc-host", "127.0.0.1", "--grpc-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]),
		"--legacy-unix-domain-socket", fmt.Sprintf("@gantry-fulcio-%d", ports[0]),
		"--ct-log-url", "", "--log_type", "prod"}, nil)
	if err != nil {
		return err
	}
	return p.waitHTTP(s.FulcioURL + "/api/v2/trustBundle")
}

func (s *Stack) startRekor() (*ecdsa.PublicKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(s.dir, "rekor.key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	s.RekorURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	p, err := s.run("posix", []string{"serve", "--storage-dir", filepath.Join(s.dir, "rekor"), "--signer-filepath", keyPath,
		"--hostname", "127.0.0.1", "--http-address", "127.0.0.1", "--http-port", strconv.Itoa(ports[0]),
		"--grpc-address", "127.0.0.1", "--grpc-port", strconv.Itoa(ports[1]), "--http-metrics-port", strconv.Itoa(ports[2]),
		"--batch-max-age", "50ms", "--checkpoint-interval", "200ms", "--log-level", "warn"}, nil)
	if err != nil {
		return nil, err
	}
	return &key.PublicKey, p.waitHTTP(s.RekorURL + "/healthz")
}

func (s *Stack) startTSA() error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	s.TSAURL = base + "/api/v1/timestamp"
	p, err := s.run("timestamp-server", []string{"serve", "--timestamp-signer", "memory", "--disable-ntp-monitoring",
		"--host", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--log-type", "prod"}, nil)
	if err != nil {
		return err
	}
	return p.waitHTTP(base + "/api/v1/timestamp/certchain")
}
