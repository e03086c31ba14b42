package assemble

import (
	"bytes"
	"debug/elf"
	"io"
	"strings"
)

// goBuildID reads the Go build ID of a binary go build wrote: the ELF note
// .note.go.buildid, or for other formats (PE) the marker the linker puts
// at the start of the text. It returns "" when there is none (not a Go
// binary, or -buildid= in the linker flags). The last part of a binary's
// build ID is a hash of its content (cmd/go/internal/work/buildid.go:
// actionID(binary)/actionID(main.a)/contentID(main.a)/contentID(binary)),
// which is what lets go build decide, from a few bytes, that a binary is
// up to date; the layer cache trusts it as far as go build does.
func goBuildID(r io.ReaderAt) string {
	if f, err := elf.NewFile(r); err == nil {
		sec := f.Section(".note.go.buildid")
		if sec == nil {
			return ""
		}
		data, err := sec.Data()
		if err != nil || len(data) < 16 {
			return ""
		}
		namesz, descsz, typ := f.ByteOrder.Uint32(data), f.ByteOrder.Uint32(data[4:]), f.ByteOrder.Uint32(data[8:])
		if namesz != 4 || typ != 4 || string(data[12:16]) != "Go\x00\x00" || uint64(descsz) > uint64(len(data)-16) {
			return ""
		}
		return checkBuildID(string(data[16 : 16+descsz]))
	}
	const prefix, end = "\xff Go build ID: \"", "\"\n \xff"
	buf := make([]byte, 32<<10)
	n, _ := r.ReadAt(buf, 0)
	buf = buf[:n]
	i := bytes.Index(buf, []byte(prefix))
	if i < 0 {
		return ""
	}
	rest := buf[i+len(prefix):]
	j := bytes.Index(rest, []byte(end))
	if j < 0 {
		return ""
	}
	return checkBuildID(string(rest[:j]))
}

// checkBuildID returns id when it has the form of a binary's build ID
// (parts of base64url text joined by slashes, the last one the content
// hash), else "".
func checkBuildID(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) < 2 {
		return ""
	}
	for _, p := range parts {
		if p == "" {
			return ""
		}
		for _, c := range p {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return ""
			}
		}
	}
	return id
}
