package sign

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var testDigest = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}

// The payloads must be byte for byte what cosign signs: cosign v2's
// payload.Cosign for a digest with no annotations, and cosign v3's
// protojson in-toto statement (compacted).
func TestPayloadsAreCosigns(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{"simple signing", func() ([]byte, error) { return SimpleSigning("ghcr.io/org/app", testDigest) },
			`{"critical":{"identity":{"docker-reference":"ghcr.io/org/app"},"image":{"docker-manifest-digest":"sha256:` + testDigest.Hex + `"},"type":"cosign container image signature"},"optional":null}`},
		{"statement", func() ([]byte, error) { return Statement(testDigest) },
			`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + testDigest.Hex + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1"}`},
	} {
		got, err := tc.got()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestSimpleSigningDigest(t *testing.T) {
	p, _ := SimpleSigning("app", testDigest)
	for _, tc := range []struct {
		payload string
		want    v1.Hash
		err     string
	}{
		{string(p), testDigest, ""},
		{`{"critical":{"image":{"docker-manifest-digest":"sha256:nothex"}}}`, v1.Hash{}, "names no manifest digest"},
		{`{"critical":{}}`, v1.Hash{}, "names no manifest digest"},
		{`not json`, v1.Hash{}, "not a simple-signing document"},
	} {
		got, err := SimpleSigningDigest([]byte(tc.payload))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SimpleSigningDigest(%s) error = %v, want %q", tc.payload, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("SimpleSigningDigest(%s) = %v, %v; want %v", tc.payload, got, err, tc.want)
		}
	}
}

func TestStatementSubjects(t *testing.T) {
	s, _ := Statement(testDigest)
	for _, tc := range []struct {
		payload   string
		want      []v1.Hash
		predicate string
		err       string
	}{
		{string(s), []v1.Hash{testDigest}, SignPredicateType, ""},
		{`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"` + testDigest.Hex + `"}}],"predicateType":"https://slsa.dev/provenance/v1"}`,
			[]v1.Hash{testDigest}, "https://slsa.dev/provenance/v1", ""},
		{`{"_type":"something else"}`, nil, "", "not an in-toto statement"},
		{`[]`, nil, "", "not an in-toto statement"},
	} {
		got, pred, err := StatementSubjects([]byte(tc.payload))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("StatementSubjects(%s) error = %v, want %q", tc.payload, err, tc.err)
			}
			continue
		}
		if err != nil || pred != tc.predicate || !cmp.Equal(got, tc.want) {
			t.Errorf("StatementSubjects(%s) = %v, %q, %v; want %v, %q", tc.payload, got, pred, err, tc.want, tc.predicate)
		}
	}
}

func TestParseFormats(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Formats
		err  bool
	}{
		{"", Both, false}, {"both", Both, false}, {"bundle", Bundle, false}, {"legacy", Legacy, false},
		{"Both", 0, true}, {"sig", 0, true},
	} {
		got, err := ParseFormats(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v (error %t)", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && got.String() != map[string]string{"": "both"}[tc.in]+tc.in {
			t.Errorf("Formats(%q).String() = %q", tc.in, got.String())
		}
	}
}

// The referrer manifest, its listing and the fallback index are what ggcr
// and cosign write, so a push through ggcr reproduces the layout's bytes.
func TestReferrerShapes(t *testing.T) {
	subj := subject{Desc: v1.Descriptor{MediaType: "application/vnd.oci.image.index.v1+json", Size: 10, Digest: testDigest}, Created: "2026-11-01T12:00:00Z"}
	bundle := v1.Descriptor{MediaType: BundleMediaType, Size: 3, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}}
	raw, err := referrerManifest(subj, bundle, SignPredicateType)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":3,"digest":"sha256:` + bundle.Digest.Hex + `"}],"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1","org.opencontainers.image.created":"2026-11-01T12:00:00Z"},"subject":{"mediaType":"application/vnd.oci.image.index.v1+json","size":10,"digest":"sha256:` + testDigest.Hex + `"},"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`
	if string(raw) != want {
		t.Errorf("referrer manifest:\n got %s\nwant %s", raw, want)
	}
	if h, _, _ := v1.SHA256(strings.NewReader(EmptyJSON)); h != emptyDescriptor.Digest {
		t.Errorf("empty descriptor digest = %s, want %s", emptyDescriptor.Digest, h)
	}
	d, err := referrerDescriptor(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.ArtifactType != BundleMediaType || d.Annotations[BundleContentAnnotation] != "dsse-envelope" || d.Size != int64(len(raw)) {
		t.Errorf("referrer descriptor = %+v", d)
	}
	second := d
	second.Digest = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("00", 32)}
	idx, err := fallbackIndex([]v1.Descriptor{d, second})
	if err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(string(idx), second.Digest.Hex), strings.Index(string(idx), d.Digest.Hex); i < 0 || j < 0 || i > j {
		t.Errorf("fallback index is not sorted by digest: %s", idx)
	}
}
