package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

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
