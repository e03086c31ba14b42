// Package sigstoretest runs a private sigstore stack on 127.0.0.1 for
// tests: the real Fulcio (ephemeral CA), Rekor v2 (rekor-tiles, POSIX
// storage) and timestamp authority servers, built from their modules by
// .ci/run, and a small OIDC issuer minting GitHub-Actions-shaped tokens.
// It writes the trusted root and signing config those servers imply.
package sigstoretest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
)

// Binaries are the server programs the stack runs, as .ci/run installs
// them.
var Binaries = []string{"fulcio", "posix", "timestamp-server"}

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
	return s.issuer.Mint(DefaultWorkflow, "sigstore", time.Now())
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
	for _, b := range Binaries {
		ocitest.NeedTool(t, b)
	}
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
	for _, b := range Binaries {
		ocitest.NeedTool(t, b)
	}
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
		fmt.Fprintf(&b, "--- %s\n%s\n", p.name, p.out.tail(3000))
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

// writeTrustedRoot writes the trusted root of the stack from what its
// servers publish: Fulcio's trust bundle, the TSA's certificate chain, the
// log's public key (the key the test made for it).
func (s *Stack) writeTrustedRoot(rekorKey *ecdsa.PublicKey) error {
	start := timestamppb.New(time.Now().Add(-time.Hour))
	var bundle struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	raw, err := get(s.FulcioURL + "/api/v2/trustBundle")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &bundle); err != nil || len(bundle.Chains) == 0 {
		return fmt.Errorf("fulcio trust bundle %q: %v", raw, err)
	}
	caPEM := []byte(strings.Join(bundle.Chains[0].Certificates, "\n"))
	caChain, err := certChain(caPEM)
	if err != nil {
		return fmt.Errorf("fulcio trust bundle: %w", err)
	}
	s.CAChain = filepath.Join(s.dir, "fulcio_chain.pem")
	if err := os.WriteFile(s.CAChain, caPEM, 0o644); err != nil {
		return err
	}
	raw, err = get(strings.TrimSuffix(s.TSAURL, "/timestamp") + "/timestamp/certchain")
	if err != nil {
		return err
	}
	tsaChain, err := certChain(raw)
	if err != nil {
		return fmt.Errorf("tsa certificate chain: %w", err)
	}
	s.TSAChain = filepath.Join(s.dir, "tsa_chain.pem")
	if err := os.WriteFile(s.TSAChain, raw, 0o644); err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(rekorKey)
	if err != nil {
		return err
	}
	logID := sha256.Sum256(der)
	tr := &prototrustroot.TrustedRoot{
		MediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		Tlogs: []*prototrustroot.TransparencyLogInstance{{
			BaseUrl:       s.RekorURL,
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey: &protocommon.PublicKey{
				RawBytes:   der,
				KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
				ValidFor:   &protocommon.TimeRange{Start: start},
			},
			LogId: &protocommon.LogId{KeyId: logID[:]},
		}},
		CertificateAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: "sigstore.dev", CommonName: "sigstore"},
			Uri:       s.FulcioURL,
			CertChain: caChain,
			ValidFor:  &protocommon.TimeRange{Start: start},
		}},
		TimestampAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: "local", CommonName: "Test TSA"},
			Uri:       s.TSAURL,
			CertChain: tsaChain,
			ValidFor:  &protocommon.TimeRange{Start: start},
		}},
	}
	out, err := protojson.Marshal(tr)
	if err != nil {
		return err
	}
	s.TrustedRoot = filepath.Join(s.dir, "trusted_root.json")
	return os.WriteFile(s.TrustedRoot, out, 0o644)
}

// writeSigningConfig writes a sigstore signing config (v0.2) naming the
// stack's CA, log (API v2) and TSA.
func (s *Stack) writeSigningConfig() error {
	start := timestamppb.New(time.Now().Add(-time.Hour))
	svc := func(url string, v uint32) *prototrustroot.Service {
		return &prototrustroot.Service{Url: url, MajorApiVersion: v, Operator: "local", ValidFor: &protocommon.TimeRange{Start: start}}
	}
	sc := &prototrustroot.SigningConfig{
		MediaType:       "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		CaUrls:          []*prototrustroot.Service{svc(s.FulcioURL, 1)},
		RekorTlogUrls:   []*prototrustroot.Service{svc(s.RekorURL, 2)},
		RekorTlogConfig: &prototrustroot.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		TsaUrls:         []*prototrustroot.Service{svc(s.TSAURL, 1)},
		TsaConfig:       &prototrustroot.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
	}
	out, err := protojson.Marshal(sc)
	if err != nil {
		return err
	}
	s.SigningConfig = filepath.Join(s.dir, "signing_config.json")
	return os.WriteFile(s.SigningConfig, out, 0o644)
}

func certChain(pemData []byte) (*protocommon.X509CertificateChain, error) {
	chain := &protocommon.X509CertificateChain{}
	for {
		var b *pem.Block
		b, pemData = pem.Decode(pemData)
		if b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return nil, err
		}
		chain.Certificates = append(chain.Certificates, &protocommon.X509Certificate{RawBytes: b.Bytes})
	}
	if len(chain.Certificates) == 0 {
		return nil, errors.New("no certificate")
	}
	return chain, nil
}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}

// proc is a server process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

func (s *Stack) run(name string, args []string, env []string) (*proc, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, out: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = s.dir
	p.cmd.Env = append(append(os.Environ(), "HOME="+s.dir, "OTEL_TRACES_EXPORTER=none"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	s.procs = append(s.procs, p)
	go func() { p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

// waitHTTP waits until url answers 200.
func (p *proc) waitHTTP(url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.cmd.ProcessState, p.out.tail(3000))
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %s within 60s:\n%s", p.name, url, p.out.tail(3000))
}

func (p *proc) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// waitPortFree waits until addr can be listened on (a process outside
// the lock, e.g. an older test binary, may hold it).
func waitPortFree(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %s stays busy (timestamp-server needs it for metrics): %w", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
