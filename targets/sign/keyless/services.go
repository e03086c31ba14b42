package keyless

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// Services are the sigstore services keyless signing uses.
type Services struct {
	Fulcio string // the certificate authority's base URL
	// Rekor is a Rekor v2 log's base URL; "" logs nothing (a private stack
	// may sign with timestamps only).
	Rekor string
	// TSA is an RFC 3161 timestamp authority's endpoint URL. Required:
	// Rekor v2 issues no signed entry time, so the timestamp is what shows
	// a signature was made while its ten-minute certificate was valid.
	TSA string
}

// Public are sigstore's public-good instances.
func Public() Services {
	return Services{
		Fulcio: "https://fulcio.sigstore.dev",
		Rekor:  "https://log2025-1.rekor.sigstore.dev",
		TSA:    "https://timestamp.sigstore.dev/api/v1/timestamp",
	}
}

// rekorV2 is the Rekor API version Gantry writes to.
const rekorV2 = 2

// FromSigningConfig reads a sigstore signing config file
// (signing_config.json, v0.2) and selects, valid at now, a Fulcio, a Rekor
// v2 log (none when it lists none) and a timestamp authority.
func FromSigningConfig(path string, now time.Time) (Services, error) {
	sc, err := root.NewSigningConfigFromPath(path)
	if err != nil {
		return Services{}, fmt.Errorf("signing config %s: %w", path, err)
	}
	var s Services
	ca, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sgsign.FulcioAPIVersions, now)
	if err != nil {
		return Services{}, fmt.Errorf("signing config %s: certificate authority: %w", path, err)
	}
	s.Fulcio = ca.URL
	if len(sc.RekorLogURLs()) > 0 {
		logs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), []uint32{rekorV2}, now)
		if err != nil {
			return Services{}, fmt.Errorf("signing config %s: Gantry writes to Rekor v2 logs only: %w", path, err)
		}
		s.Rekor = logs[0].URL
	}
	if len(sc.TimestampAuthorityURLs()) > 0 {
		tsas, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sgsign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return Services{}, fmt.Errorf("signing config %s: timestamp authority: %w", path, err)
		}
		s.TSA = tsas[0].URL
	}
	return s, nil
}

// Validate checks that the services can make a verifiable signature.
func (s Services) Validate() error {
	if s.Fulcio == "" {
		return errors.New("keyless signing needs a Fulcio URL (GANTRY_FULCIO_URL or the signing config)")
	}
	if s.TSA == "" {
		return errors.New("keyless signing needs a timestamp authority (GANTRY_TSA_URL or the signing config): Rekor v2 gives no signing time, so without a timestamp the short-lived certificate cannot be shown valid when the signature was made")
	}
	for _, u := range []struct{ name, v string }{{"Fulcio", s.Fulcio}, {"Rekor", s.Rekor}, {"timestamp authority", s.TSA}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("%s URL %q is not an http(s) URL", u.name, u.v)
		}
	}
	return nil
}
