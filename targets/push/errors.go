package push

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Error is a failed push as a user reads it: one line saying what failed,
// why and what to do, with every secret removed. Unwrap reaches the cause.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// queryRE matches a URL's query, which can hold upload state or a
// pre-signed storage signature.
var queryRE = regexp.MustCompile(`(https?://[^\s"?]+)\?[^\s"]+`)

// userError words err for a user and removes secrets from it.
func userError(err error, secrets ...string) error {
	var ue *Error
	if errors.As(err, &ue) {
		return err
	}
	msg, suffix := err.Error(), ""
	var bt *beforeTagsError
	if errors.As(err, &bt) {
		msg, suffix = bt.err.Error(), "; "+bt.note()
	}
	if hint := hintFor(err); hint != "" {
		msg += ": " + hint
	}
	msg += suffix
	msg = strings.Join(strings.Fields(msg), " ")
	msg = queryRE.ReplaceAllString(msg, "$1?REDACTED")
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "(redacted)")
		}
	}
	return &Error{msg: msg, err: err}
}

// hintFor says what to do about the usual failures.
func hintFor(err error) string {
	var te *transport.Error
	if errors.As(err, &te) {
		host := "REGISTRY"
		if te.Request != nil {
			host = te.Request.URL.Host
		}
		switch {
		case te.StatusCode == http.StatusUnauthorized || hasCode(te, transport.UnauthorizedErrorCode):
			return fmt.Sprintf("the registry answered %d Unauthorized: log in with `docker login %s` (credential helpers work too), or set GANTRY_REGISTRY_USERNAME and GANTRY_REGISTRY_PASSWORD", te.StatusCode, host)
		case te.StatusCode == http.StatusForbidden || hasCode(te, transport.DeniedErrorCode):
			return fmt.Sprintf("the registry answered %d Forbidden: the credentials may not push there: check the account's or token's permissions on that repository (for ghcr.io a token with write:packages), or log in as another user with `docker login`", te.StatusCode)
		}
		return ""
	}
	var plain *plainHTTPError
	if errors.As(err, &plain) {
		return ""
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return fmt.Sprintf("no host %s: check the registry in GANTRY_REPO", dns.Name)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		host := ""
		var ue *url.Error
		if errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil {
				host = u.Host + " "
			}
		}
		return fmt.Sprintf("the registry %sis unreachable: check the address in GANTRY_REPO and that the registry is running", host)
	}
	return ""
}

func hasCode(te *transport.Error, code transport.ErrorCode) bool {
	for _, d := range te.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}
