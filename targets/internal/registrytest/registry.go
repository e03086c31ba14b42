// Package registrytest runs real registries for tests: CNCF distribution's
// registry process on 127.0.0.1, and a reverse proxy in front of it that
// injects faults (5xx, 429, resets in the middle of a blob upload, stalls,
// expiring bearer tokens) and counts what reaches it.
package registrytest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
)

// Registry is a distribution registry process serving on 127.0.0.1.
type Registry struct {
	Host    string // 127.0.0.1:port
	Storage string // its storage directory

	cmd *exec.Cmd
	log *ocitest.ProcLog
}

type settings struct {
	user, password string
	urlAllow       string // validation.manifests.urls.allow
}

// WithManifestURLs lets manifests name layers by URLs matching allow (a
// regular expression), as foreign Windows base layers do; by default
// distribution refuses every manifest with URLs.
func WithManifestURLs(allow string) Option {
	return func(s *settings) { s.urlAllow = allow }
}

// Option configures Start.
type Option func(*settings)

// WithHtpasswd makes the registry require HTTP basic authentication with
// this user and password (distribution's htpasswd backend, bcrypt).
func WithHtpasswd(user, password string) Option {
	return func(s *settings) { s.user, s.password = user, password }
}

// Start runs a registry on a free port with its storage in a temp dir and
// stops it when the test ends. Without the registry binary the test is
// skipped (failed under CI=true).
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	bin := ocitest.NeedTool(t, "registry")
	var s settings
	for _, o := range opts {
		o(&s)
	}
	dir := t.TempDir()
	var lastErr error
	for range 3 { // the free port can be taken before the registry binds it
		r, err := start(bin, dir, s)
		if err == nil {
			t.Cleanup(func() {
				r.Stop()
				if t.Failed() {
					t.Logf("registry log:\n%s", r.log.Tail(4000))
				}
			})
			return r
		}
		lastErr = err
	}
	t.Fatalf("starting registry: %v", lastErr)
	return nil
}

func start(bin, dir string, s settings) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	r := &Registry{Host: host, Storage: filepath.Join(dir, "storage"), log: &ocitest.ProcLog{}}
	auth := ""
	if s.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(s.password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(s.user+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: gantry-test\n    path: %s\n", htpasswd)
	}
	if s.urlAllow != "" {
		auth += fmt.Sprintf("validation:\n  manifests:\n    urls:\n      allow:\n        - %q\n", s.urlAllow)
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: gantry-test-secret
  relativeurls: true
%s`, r.Storage, host, auth)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("registry exited (%v):\n%s", err, r.log.Tail(2000))
		default:
		}
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return r, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.cmd.Process.Kill()
	return nil, fmt.Errorf("registry on %s did not answer within 15s:\n%s", host, r.log.Tail(2000))
}

// Stop kills the registry; safe to call twice.
func (r *Registry) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
	}
}

// Repo returns "<host>/<name>".
func (r *Registry) Repo(name string) string { return r.Host + "/" + name }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
