package sbom

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Media and predicate types of the documents.
const (
	SPDXMediaType     = "application/spdx+json"
	SPDXPredicateType = "https://spdx.dev/Document"
	noAssertion       = "NOASSERTION"
	namespaceBase     = "https://gantry.build/spdx/"
)

// Image is what a platform SBOM describes: one image manifest and the Go
// binary it runs.
type Image struct {
	Name       string // image name (or repository)
	Version    string // its version tag
	Identity   string // repository it is published to, if known
	Digest     v1.Hash
	Platform   v1.Platform
	Created    time.Time // reproducible creation time
	BaseName   string    // base image reference ("" for scratch/static)
	BaseDigest string
	Source     string // git source URL
	Revision   string // git commit
	Binary     Binary
	Files      []File // the files layer's regular files, in layer order
	// Sums are go.sum checksums by "path version", for modules the build
	// info has none of (a vendored build records none).
	Sums map[string]string
	// Licenses are the detected licenses (SPDX expressions) by module
	// path; a module missing here is NOASSERTION.
	Licenses map[string]string
	// Config is the build configuration the provenance records as an
	// external parameter (base, user, build tags, ldflags…).
	Config map[string]string
}

// Index is what the index-level SBOM describes: the image index and its
// platform images.
type Index struct {
	Name     string
	Version  string
	Identity string
	Digest   v1.Hash
	Created  time.Time
	Images   []Image
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// elementID is an SPDX element ID for a name: unsafe characters become '-'.
func elementID(kind, name string) common.ElementID {
	return common.ElementID(kind + "-" + strings.Trim(idUnsafe.ReplaceAllString(name, "-"), "-"))
}

func purlRef(p string) *spdx.PackageExternalReference {
	return &spdx.PackageExternalReference{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: p}
}

func rel(a, b common.ElementID, kind string) *spdx.Relationship {
	return &spdx.Relationship{RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(b)), Relationship: kind}
}

func newDocument(name, namespace, builder string, created time.Time) *spdx.Document {
	return &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name,
		DocumentNamespace: namespace,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "gantry-" + builder}},
			Created:  created.UTC().Format(time.RFC3339),
		},
	}
}

func imagePackage(img Image, repo string) *spdx.Package {
	p := img.Platform
	return &spdx.Package{
		PackageName:               repo,
		PackageSPDXIdentifier:     elementID("Image", platform.String(p)),
		PackageVersion:            img.Version,
		PackageDownloadLocation:   noAssertion,
		PackageChecksums:          []common.Checksum{{Algorithm: common.SHA256, Value: img.Digest.Hex}},
		PackageLicenseConcluded:   noAssertion,
		PackageLicenseDeclared:    noAssertion,
		PackageCopyrightText:      noAssertion,
		PackageExternalReferences: []*spdx.PackageExternalReference{purlRef(ociPURL(repo, img.Digest, &p))},
		PrimaryPackagePurpose:     "CONTAINER",
	}
}

// ImageDocument is the SPDX 2.3 document of one platform image: the image,
// its base, the Go binary's main module, toolchain and build settings, and
// every dependency module with version, checksum and purl. Licenses are
// NOASSERTION. It is deterministic: its namespace and creation time come
// from the image.
func ImageDocument(img Image, builder string) *spdx.Document {
	repo := repoOf(img.Name, img.Identity)
	doc := newDocument(fmt.Sprintf("%s@%s", repo, img.Digest), namespaceBase+repo+"/"+img.Digest.Hex, builder, img.Created)
	ip := imagePackage(img, repo)
	doc.Packages = append(doc.Packages, ip)
	doc.Relationships = append(doc.Relationships, rel("DOCUMENT", ip.PackageSPDXIdentifier, "DESCRIBES"))

	for _, f := range img.Files {
		sf := &spdx.File{
			FileName:           f.Path,
			FileSPDXIdentifier: elementID("File", f.Path),
			Checksums:          []common.Checksum{{Algorithm: common.SHA1, Value: f.SHA1}, {Algorithm: common.SHA256, Value: f.SHA256}},
			LicenseConcluded:   noAssertion,
			LicenseInfoInFiles: []string{noAssertion},
			FileCopyrightText:  noAssertion,
			FileComment:        "added to the image from the source tree (Image.Files or kodata/)",
		}
		doc.Files = append(doc.Files, sf)
		doc.Relationships = append(doc.Relationships, rel(ip.PackageSPDXIdentifier, sf.FileSPDXIdentifier, "CONTAINS"))
	}
	bi := img.Binary.Info
	if bi == nil {
		return doc
	}
	main := modulePackage("Main", &bi.Main, nil)
	if l := img.Licenses[bi.Main.Path]; l != "" {
		main.PackageLicenseDeclared = l
	}
	main.PrimaryPackagePurpose = "APPLICATION"
	main.PackageFileName = img.Binary.Path
	main.PackageComment = buildComment(bi.Path, bi.GoVersion, bi.Settings)
	doc.Packages = append(doc.Packages, main)
	doc.Relationships = append(doc.Relationships, rel(ip.PackageSPDXIdentifier, main.PackageSPDXIdentifier, "CONTAINS"))

	gover := strings.TrimPrefix(bi.GoVersion, "go")
	stdlib := &spdx.Package{
		PackageName: "stdlib", PackageSPDXIdentifier: "Package-stdlib", PackageVersion: bi.GoVersion,
		PackageDownloadLocation: "https://go.dev/dl/", PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared: "BSD-3-Clause", PackageCopyrightText: noAssertion,
		PackageExternalReferences: []*spdx.PackageExternalReference{purlRef(golangPURL("stdlib", "v"+gover))},
		PackageComment:            "the Go toolchain and standard library the binary was built with",
	}
	doc.Packages = append(doc.Packages, stdlib)
	doc.Relationships = append(doc.Relationships, rel(main.PackageSPDXIdentifier, stdlib.PackageSPDXIdentifier, "DEPENDS_ON"))

	for _, m := range bi.Deps {
		dp := modulePackage("Module", m, img.Sums)
		if l := img.Licenses[m.Path]; l != "" {
			dp.PackageLicenseDeclared = l
		}
		doc.Packages = append(doc.Packages, dp)
		doc.Relationships = append(doc.Relationships, rel(main.PackageSPDXIdentifier, dp.PackageSPDXIdentifier, "DEPENDS_ON"))
	}
	if img.BaseName != "" || img.BaseDigest != "" {
		bp := &spdx.Package{
			PackageName: img.BaseName, PackageSPDXIdentifier: "Base", PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion, PackageCopyrightText: noAssertion,
			PrimaryPackagePurpose: "CONTAINER",
		}
		if h, err := v1.NewHash(img.BaseDigest); err == nil {
			bp.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: h.Hex}}
			bp.PackageExternalReferences = []*spdx.PackageExternalReference{purlRef(ociPURL(baseRepo(img.BaseName), h, nil))}
		}
		doc.Packages = append(doc.Packages, bp)
		doc.Relationships = append(doc.Relationships, rel(ip.PackageSPDXIdentifier, bp.PackageSPDXIdentifier, "DESCENDANT_OF"))
	}
	return doc
}

// IndexDocument is the SPDX 2.3 document of an image index: the index and
// the platform images it lists.
func IndexDocument(idx Index, builder string) *spdx.Document {
	repo := repoOf(idx.Name, idx.Identity)
	doc := newDocument(fmt.Sprintf("%s@%s", repo, idx.Digest), namespaceBase+repo+"/"+idx.Digest.Hex, builder, idx.Created)
	ip := &spdx.Package{
		PackageName: repo, PackageSPDXIdentifier: "Index", PackageVersion: idx.Version,
		PackageDownloadLocation: noAssertion, PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion,
		PackageCopyrightText:      noAssertion,
		PackageChecksums:          []common.Checksum{{Algorithm: common.SHA256, Value: idx.Digest.Hex}},
		PackageExternalReferences: []*spdx.PackageExternalReference{purlRef(ociPURL(repo, idx.Digest, nil))},
		PrimaryPackagePurpose:     "CONTAINER",
	}
	doc.Packages = append(doc.Packages, ip)
	doc.Relationships = append(doc.Relationships, rel("DOCUMENT", ip.PackageSPDXIdentifier, "DESCRIBES"))
	for _, img := range idx.Images {
		p := imagePackage(img, repo)
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, rel(ip.PackageSPDXIdentifier, p.PackageSPDXIdentifier, "CONTAINS"))
	}
	return doc
}

// modulePackage describes a module; a replaced module is described by its
// replacement's version and checksum, and says what it replaces.
func modulePackage(kind string, m *debug.Module, sums map[string]string) *spdx.Package {
	eff := m
	var comment string
	if m.Replace != nil {
		eff = m.Replace
		comment = fmt.Sprintf("%s %s is replaced by %s %s", m.Path, m.Version, m.Replace.Path, m.Replace.Version)
	}
	p := &spdx.Package{
		PackageName:               m.Path,
		PackageSPDXIdentifier:     elementID(kind, m.Path),
		PackageVersion:            eff.Version,
		PackageDownloadLocation:   noAssertion,
		PackageLicenseConcluded:   noAssertion,
		PackageLicenseDeclared:    noAssertion,
		PackageCopyrightText:      noAssertion,
		PackageComment:            comment,
		PackageExternalReferences: []*spdx.PackageExternalReference{purlRef(golangPURL(eff.Path, eff.Version))},
		PrimaryPackagePurpose:     "LIBRARY",
	}
	sum := eff.Sum
	if sum == "" {
		sum = sums[eff.Path+" "+eff.Version]
	}
	if sum := h1Hex(sum); sum != "" {
		p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: sum}}
	}
	return p
}

// h1Hex is the hex of a go.sum "h1:" checksum (SHA-256 of the module's
// file list), "" when sum is not one.
func h1Hex(sum string) string {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 32 {
		return ""
	}
	return hex.EncodeToString(b)
}

// buildComment records the main package, toolchain and build settings
// (GOOS, GOARCH, variant, CGO_ENABLED, -trimpath, -ldflags, vcs.*) in the
// order the toolchain wrote them.
func buildComment(mainPkg, gover string, settings []debug.BuildSetting) string {
	var b strings.Builder
	fmt.Fprintf(&b, "main package %s built with %s", mainPkg, gover)
	for _, s := range settings {
		fmt.Fprintf(&b, "\n%s=%s", s.Key, s.Value)
	}
	return b.String()
}

// repoOf is the name documents give the image: the repository it is
// published to, else its name.
func repoOf(name, identity string) string {
	if identity != "" {
		return identity
	}
	return name
}

// baseRepo strips a tag or digest from a base reference.
func baseRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// Encode writes doc as indented JSON with SPDX's library.
func Encode(doc *spdx.Document) ([]byte, error) {
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("encoding SPDX document: %w", err)
	}
	return buf.Bytes(), nil
}

// ParseGoSum reads the module checksums of a go.sum file by "path version"
// (go.mod-only lines left out).
func ParseGoSum(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		out[f[0]+" "+f[1]] = f[2]
	}
	return out
}
