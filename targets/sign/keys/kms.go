package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/gantrybuild/gantry/targets/sign"

	// The KMS provider Gantry builds in: HashiCorp Vault (and OpenBao)
	// transit keys, hashivault://<key>. Other sigstore providers (awskms://,
	// gcpkms://, azurekms://) register the same way; any other scheme is
	// looked up as a sigstore KMS plugin binary, sigstore-kms-<scheme>, on
	// PATH (docs/signing.md).
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

// KMS holds the settings KMS providers take from Gantry's configuration
// rather than from the environment. Empty fields fall back to the
// provider's defaults.
type KMS struct {
	Address string // the KMS server, e.g. Vault's https://vault:8200 (VAULT_ADDR)
	Token   string // its token (VAULT_TOKEN)
}

// IsKMS reports whether ref is a KMS URI (scheme://…) rather than a file.
func IsKMS(ref string) bool {
	scheme, rest, ok := strings.Cut(ref, "://")
	return ok && rest != "" && scheme != "" && scheme != "env" && scheme != "file" && !strings.ContainsAny(scheme, `/\.`)
}

var _ sign.Signer = (*kmsSigner)(nil)

// kmsSigner signs with a KMS key through sigstore's provider for its URI.
type kmsSigner struct {
	uri  string
	sv   kms.SignerVerifier
	pub  crypto.PublicKey
	hash crypto.Hash
}

// NewKMSSigner returns the Signer for the KMS key uri. It reads the public
// key, so an unreachable KMS or a missing key fails here, before anything
// is signed.
func NewKMSSigner(ctx context.Context, uri string, cfg KMS) (sign.Signer, error) {
	sv, pub, hash, err := openKMS(ctx, uri, cfg)
	if err != nil {
		return nil, err
	}
	return &kmsSigner{uri: uri, sv: sv, pub: pub, hash: hash}, nil
}

// openKMS loads the provider for uri, with the hash the key signs with
// (as for key files: SHA-256, none for Ed25519).
func openKMS(ctx context.Context, uri string, cfg KMS) (kms.SignerVerifier, crypto.PublicKey, crypto.Hash, error) {
	rpc := []signature.RPCOption{options.WithContext(ctx), options.WithRPCAuthOpts(options.RPCAuth{Address: cfg.Address, Token: cfg.Token})}
	sv, err := kms.Get(ctx, uri, crypto.SHA256, rpc...)
	if err != nil {
		var nf *kms.ProviderNotFoundError
		if errors.As(err, &nf) {
			scheme, _, _ := strings.Cut(uri, "://")
			return nil, nil, 0, fmt.Errorf("KMS key %s: no provider for %s:// (built in: hashivault://, openbao://; others need a sigstore-kms-%s plugin on PATH)", uri, scheme, scheme)
		}
		return nil, nil, 0, fmt.Errorf("KMS key %s: %s", uri, flat(err))
	}
	pub, err := sv.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("KMS key %s is unreachable or missing: %s", uri, flat(err))
	}
	if _, err := Describe(pub); err != nil {
		return nil, nil, 0, fmt.Errorf("KMS key %s: %w", uri, err)
	}
	hash := hashFor(pub)
	if hash != crypto.SHA256 {
		if sv, err = kms.Get(ctx, uri, hash, rpc...); err != nil {
			return nil, nil, 0, fmt.Errorf("KMS key %s: %s", uri, flat(err))
		}
	}
	return sv, pub, hash, nil
}

func (k *kmsSigner) PublicKey() crypto.PublicKey { return k.pub }
func (k *kmsSigner) HashFunc() crypto.Hash       { return k.hash }
func (k *kmsSigner) String() string              { return k.uri }

func (k *kmsSigner) Sign(ctx context.Context, message []byte) ([]byte, error) {
	sig, err := k.sv.SignMessage(strings.NewReader(string(message)), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing with KMS key %s: %s", k.uri, flat(err))
	}
	return sig, nil
}

// flat puts a provider's error on one line (Vault's span several).
func flat(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
