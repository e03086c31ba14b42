package push

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestUserError(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPut, "https://ghcr.io/v2/acme/app/manifests/v1", nil)
	status := func(code int, c transport.ErrorCode) error {
		return noTagMoved(fmt.Errorf("pushing app to ghcr.io/acme/app: %w", &transport.Error{StatusCode: code, Request: req, Errors: []transport.Diagnostic{{Code: c, Message: "no"}}}))
	}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"401", status(401, transport.UnauthorizedErrorCode), []string{"401 Unauthorized: log in with `docker login ghcr.io`", "GANTRY_REGISTRY_PASSWORD; no tag was moved"}},
		{"403", status(403, transport.DeniedErrorCode), []string{"403 Forbidden: the credentials may not push there", "write:packages", "; no tag was moved"}},
		{"unreachable", &url.Error{Op: "Get", URL: "https://registry.lan:5000/v2/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}},
			[]string{"the registry registry.lan:5000 is unreachable"}},
		{"query and password removed, one line", fmt.Errorf("PATCH https://r.example/v2/a/blobs/uploads/1?_state=abc&X-Amz-Signature=def failed:\nbody with hunter2"),
			[]string{"https://r.example/v2/a/blobs/uploads/1?REDACTED failed: body with (redacted)"}},
	}
	for _, tt := range tests {
		got := userError(tt.err, "hunter2").Error()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q does not contain %q", tt.name, got, w)
			}
		}
		if strings.ContainsAny(got, "\n\r") || strings.Contains(got, "hunter2") || strings.Contains(got, "_state=") {
			t.Errorf("%s: %q spans lines or holds a secret", tt.name, got)
		}
	}
}
