package sigtag_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

var (
	hexA = strings.Repeat("a", 64)
	hexB = strings.Repeat("b", 64)
	hA   = v1.Hash{Algorithm: "sha256", Hex: hexA}
	hB   = v1.Hash{Algorithm: "sha256", Hex: hexB}
)

func TestNames(t *testing.T) {
	if got, want := sigtag.Signature(hA), "sha256-"+hexA+".sig"; got != want {
		t.Errorf("Signature = %q, want %q", got, want)
	}
	if got, want := sigtag.AttestationTag(hA), "sha256-"+hexA+".att"; got != want {
		t.Errorf("AttestationTag = %q, want %q", got, want)
	}
	if got, want := sigtag.Fallback(hA), "sha256-"+hexA; got != want {
		t.Errorf("Fallback = %q, want %q", got, want)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		want v1.Hash
		kind sigtag.Kind
	}{
		{"sha256-" + hexA + ".sig", hA, sigtag.Legacy},
		{"sha256-" + hexA, hA, sigtag.Referrers},
		{"sha256-" + hexA + ".att", hA, sigtag.Attestation},
		{"sha256-" + hexA + ".sbom", v1.Hash{}, sigtag.None},
		{"sha256-" + hexA[:63], v1.Hash{}, sigtag.None},
		{"sha256-" + strings.ToUpper(hexA), v1.Hash{}, sigtag.None},
		{"sha512-" + hexA, v1.Hash{}, sigtag.None},
		{"v1.2.3", v1.Hash{}, sigtag.None},
		{"v1.2.3-arm64", v1.Hash{}, sigtag.None},
		{".sig", v1.Hash{}, sigtag.None},
		{"", v1.Hash{}, sigtag.None},
	} {
		h, kind := sigtag.Parse(tc.tag)
		if h != tc.want || kind != tc.kind {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.tag, h, kind, tc.want, tc.kind)
		}
		if got := sigtag.Is(tc.tag); got != (tc.kind != sigtag.None) {
			t.Errorf("Is(%q) = %t", tc.tag, got)
		}
	}
}

func named(ref string, h v1.Hash) v1.Descriptor {
	return v1.Descriptor{Digest: h, Annotations: map[string]string{sigtag.RefName: ref}}
}

func TestKeep(t *testing.T) {
	other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("c", 64)}
	old := []v1.Descriptor{
		named("v1", hA),
		named(sigtag.Fallback(hA), other),
		named(sigtag.Signature(hA), other),
		named(sigtag.Signature(hB), other), // hB was rebuilt away
		named("v1-arm64", hB),
	}
	entries := []v1.Descriptor{named("v1", hA)}
	want := []v1.Descriptor{old[1], old[2]}
	if diff := cmp.Diff(want, sigtag.Keep(old, entries)); diff != "" {
		t.Errorf("Keep (-want +got):\n%s", diff)
	}
	if got := sigtag.Keep(old, nil); got != nil {
		t.Errorf("Keep with no entries = %v, want none", got)
	}
	if !sigtag.IsEntry(old[2]) || sigtag.IsEntry(old[0]) {
		t.Errorf("IsEntry tells signature entries from images wrongly")
	}
}
