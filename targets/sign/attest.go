package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// DSSEMediaType is the media type of a layer of cosign's legacy
// attestation manifest (sha256-<hex>.att): a DSSE envelope.
const DSSEMediaType = "application/vnd.dsse.envelope.v1+json"

// predicateAnnotation names a legacy attestation layer's predicate type,
// as cosign writes it.
const predicateAnnotation = "predicateType"

// predicate is a document attached to a manifest as a referrer annotated
// with an in-toto predicate type (an SBOM, a provenance): sign attests it.
type predicate struct {
	Type    string
	Content json.RawMessage
}

// attestedStatement is an in-toto statement v1 carrying a predicate.
type attestedStatement struct {
	Type          string          `json:"_type"`
	Subject       []resource      `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// AttestationStatement is the in-toto statement v1 that attests predicate
// (a JSON document) of type predicateType about manifest h, whose subject
// names the repository identity, as cosign attest writes it. It is
// deterministic.
func AttestationStatement(identity string, h v1.Hash, predicateType string, predicate []byte) ([]byte, error) {
	if !json.Valid(predicate) {
		return nil, fmt.Errorf("%s predicate is not JSON", predicateType)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(attestedStatement{
		Type:          StatementType,
		Subject:       []resource{{Name: identity, Digest: map[string]string{h.Algorithm: h.Hex}}},
		PredicateType: predicateType,
		Predicate:     predicate,
	})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// predicatesOf reads the documents refs attach that carry a predicate type.
func predicatesOf(ctx context.Context, st store, refs []v1.Descriptor) ([]predicate, error) {
	var out []predicate
	for _, d := range refs {
		pt := d.Annotations[sigtag.PredicateType]
		if pt == "" || strings.HasPrefix(d.ArtifactType, "application/vnd.dev.sigstore.bundle") {
			continue
		}
		raw, err := st.Manifest(ctx, d.Digest)
		if err != nil {
			return nil, err
		}
		var m v1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("referrer %s: %w", d.Digest, err)
		}
		if len(m.Layers) != 1 || m.Annotations[sigtag.PredicateType] != pt {
			return nil, fmt.Errorf("referrer %s: a %s attestation has one layer and the predicate type annotation", d.Digest, pt)
		}
		content, err := st.Blob(ctx, m.Layers[0])
		if err != nil {
			return nil, err
		}
		out = append(out, predicate{Type: pt, Content: content})
	}
	return out, nil
}

// attestationBundles returns the bundles among refs that claim predicate
// type pt.
func attestationBundles(ctx context.Context, st store, refs []v1.Descriptor, pt string) [][]byte {
	var out [][]byte
	for _, d := range refs {
		if d.Annotations[BundlePredicateAnnotation] != "" && d.Annotations[BundlePredicateAnnotation] != pt {
			continue
		}
		if raw, err := readBundle(ctx, st, d); err == nil {
			out = append(out, raw)
		}
	}
	return out
}

// attestsPredicate reports whether payload is an in-toto statement about h
// whose predicate is pr (its subject's name, where the image was meant to
// be pushed, is not checked, as cosign does not).
func attestsPredicate(payload []byte, pr predicate, h v1.Hash) bool {
	var s attestedStatement
	if json.Unmarshal(payload, &s) != nil || s.Type != StatementType || s.PredicateType != pr.Type {
		return false
	}
	if !slices.ContainsFunc(s.Subject, func(r resource) bool { return r.Digest[h.Algorithm] == h.Hex }) {
		return false
	}
	var got, want any
	return json.Unmarshal(s.Predicate, &got) == nil && json.Unmarshal(pr.Content, &want) == nil && reflect.DeepEqual(got, want)
}

// checkAttestationBundle returns nil when raw is a sigstore bundle
// attesting pr about h, signed as t accepts.
func checkAttestationBundle(raw []byte, pr predicate, h v1.Hash, t trust) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("not a valid sigstore bundle: %w", err)
	}
	env := b.GetDsseEnvelope()
	if env == nil || env.GetPayloadType() != InTotoPayloadType {
		return errors.New("bundle holds no in-toto DSSE envelope")
	}
	if !attestsPredicate(env.GetPayload(), pr, h) {
		return errors.New("bundle attests another statement")
	}
	return t.bundle(&b, h)
}

// checkAttestationLayer returns nil when l is a DSSE envelope attesting pr
// about h, signed as t accepts.
func checkAttestationLayer(l legacyLayer, pr predicate, h v1.Hash, t trust) error {
	if l.desc.MediaType != DSSEMediaType {
		return fmt.Errorf("layer %s is a %s, not a DSSE envelope", l.desc.Digest, l.desc.MediaType)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(l.payload, &env); err != nil {
		return fmt.Errorf("layer %s is not a DSSE envelope: %w", l.desc.Digest, err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return fmt.Errorf("layer %s: payload is not base64: %w", l.desc.Digest, err)
	}
	if env.PayloadType != InTotoPayloadType || !attestsPredicate(payload, pr, h) {
		return errors.New("envelope attests another statement")
	}
	pae := dsse.PAE(env.PayloadType, payload)
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			continue
		}
		// cosign timestamps an attestation's envelope, not its signature.
		if t.layer(l.desc.Annotations, pae, sig, l.payload) == nil {
			return nil
		}
	}
	return errInvalid
}

// newAttestationLayer signs stmt into a DSSE envelope, the layer cosign's
// legacy attestation manifest holds: empty signature annotation, the
// predicate type annotated, and a Certified signer's certificate, chain and
// timestamp (over the envelope).
func newAttestationLayer(ctx context.Context, sg *signing, stmt []byte, pt string) (legacyLayer, error) {
	sig, err := sg.s.Sign(ctx, dsse.PAE(InTotoPayloadType, stmt))
	if err != nil {
		return legacyLayer{}, err
	}
	env, err := json.Marshal(dsse.Envelope{
		PayloadType: InTotoPayloadType,
		Payload:     base64.StdEncoding.EncodeToString(stmt),
		Signatures:  []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	})
	if err != nil {
		return legacyLayer{}, err
	}
	ann := map[string]string{}
	if sg.cert != nil {
		if ann, err = certifiedAnnotations(ctx, sg.cert, env); err != nil {
			return legacyLayer{}, err
		}
	}
	ann[SignatureAnnotation], ann[predicateAnnotation] = "", pt
	return newLayer(DSSEMediaType, env, ann)
}

// attBundle is a new attestation bundle and its predicate type.
type attBundle struct {
	raw           []byte
	predicateType string
}

// planAttestations adds to p what attesting the predicates attached to its
// manifest writes, in the selected formats: what is already attested by
// this key (the same statement) is kept.
func planAttestations(ctx context.Context, st store, sg *signing, t trust, p *plan, o *options) error {
	h := p.subj.Desc.Digest
	preds, err := predicatesOf(ctx, st, p.refs)
	if err != nil || len(preds) == 0 {
		return err
	}
	p.signed.Attestations = Kept
	var layers []legacyLayer
	if o.formats&Legacy != 0 {
		if layers, _, err = readLegacyTag(ctx, st, sigtag.AttestationTag(h)); err != nil {
			return err
		}
	}
	n := len(layers)
	for _, pr := range preds {
		stmt, err := AttestationStatement(o.identity, h, pr.Type, pr.Content)
		if err != nil {
			return err
		}
		if o.formats&Legacy != 0 && !slices.ContainsFunc(layers, func(l legacyLayer) bool { return checkAttestationLayer(l, pr, h, t) == nil }) {
			l, err := newAttestationLayer(ctx, sg, stmt, pr.Type)
			if err != nil {
				return err
			}
			if err := checkAttestationLayer(l, pr, h, t); err != nil {
				return fmt.Errorf("the key's attestation does not verify with its own public key: %w", err)
			}
			layers = append(layers, l)
		}
		if o.formats&Bundle != 0 && !slices.ContainsFunc(attestationBundles(ctx, st, p.refs, pr.Type), func(raw []byte) bool {
			return checkAttestationBundle(raw, pr, h, t) == nil
		}) {
			b, err := dsseBundle(ctx, sg, stmt)
			if err != nil {
				return err
			}
			if err := checkAttestationBundle(b, pr, h, t); err != nil {
				return fmt.Errorf("the key's attestation bundle does not verify with its own public key: %w", err)
			}
			p.attBundles = append(p.attBundles, attBundle{raw: b, predicateType: pr.Type})
			p.signed.Attestations = Added
		}
	}
	if len(layers) > n {
		if len(layers) > maxLegacyLayers {
			return fmt.Errorf("the legacy attestation manifest would hold %d attestations", len(layers))
		}
		if p.attImage, err = legacyImage(layers); err != nil {
			return err
		}
		p.signed.Attestations = Added
	}
	return nil
}

// verifyAttestations checks that every predicate attached to h is
// attested as t accepts in each selected format.
func verifyAttestations(ctx context.Context, st store, h v1.Hash, refs []v1.Descriptor, t trust, f Formats) Verdict {
	var v Verdict
	preds, err := predicatesOf(ctx, st, refs)
	if err != nil {
		return Verdict{Required: true, Problems: []string{err.Error()}}
	}
	if len(preds) == 0 {
		return v
	}
	v.Required = true
	var layers []legacyLayer
	if f&Legacy != 0 {
		if layers, _, err = readLegacyTag(ctx, st, sigtag.AttestationTag(h)); err != nil {
			v.Problems = append(v.Problems, err.Error())
		}
	}
	for _, pr := range preds {
		ok := true
		if f&Legacy != 0 && !slices.ContainsFunc(layers, func(l legacyLayer) bool { return checkAttestationLayer(l, pr, h, t) == nil }) {
			ok = false
			v.Problems = append(v.Problems, fmt.Sprintf("%s: no valid legacy attestation", pr.Type))
		}
		if f&Bundle != 0 && !slices.ContainsFunc(attestationBundles(ctx, st, refs, pr.Type), func(raw []byte) bool {
			return checkAttestationBundle(raw, pr, h, t) == nil
		}) {
			ok = false
			v.Problems = append(v.Problems, fmt.Sprintf("%s: no valid attestation bundle", pr.Type))
		}
		if ok {
			v.Valid++
		}
	}
	if len(v.Problems) > 0 {
		v.Valid = 0
	}
	return v
}
