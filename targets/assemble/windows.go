package assemble

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Windows layers are what containerd's Windows snapshotter imports (hcsshim's
// ociwclayer.ImportLayerFromTar): the container's C:\ lives under Files/,
// registry hives under Hives/, each directory is created from its own entry
// before anything in it, and Win32 metadata rides in PAX records named
// MSWINDOWS.* (go-winio's backuptar). Gantry writes what ko writes (Hives,
// Files and the binary's directories as 0555 directory entries without a
// trailing slash, then the binary, 0555, with ko's security descriptor),
// except that its mtimes are the image's created time, as in Gantry's linux
// layers, and the binary is named <name>.exe.
const (
	windowsFiles = "Files"
	windowsHives = "Hives"

	// DefaultWindowsBinDir is where a windows image's binary goes, as an
	// image path: C:\app\<name>.exe.
	DefaultWindowsBinDir = "/app"

	// paxRawSD is go-winio's record of a file's security descriptor:
	// self-relative binary, base64.
	paxRawSD = "MSWINDOWS.rawsd"

	// windowsBinarySD is the security descriptor ko gives binaries, and
	// Gantry too: owner and group BUILTIN\Users (SDDL "O:BUG:BU"), no DACL
	// (so everyone may run it). Without one the file inherits an ACL that
	// ContainerUser cannot execute on some hosts.
	windowsBinarySD = "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA=="

	// windowsMode is ko's mode for Windows entries; Windows ignores it
	// (backuptar derives attributes from the entry type).
	windowsMode = 0o555
)

// windowsPath is the Windows spelling of an image path: /app/x.exe →
// C:\app\x.exe.
func windowsPath(p string) string {
	return `C:` + strings.ReplaceAll(p, "/", `\`)
}

// fillWindowsBinary writes Hives, Files, the binary's parent directories
// under Files and the binary, with mtime t, copying exactly size bytes from
// r. p is the binary's absolute image path (/app/x.exe).
func fillWindowsBinary(ctx context.Context, r io.Reader, size int64, p string, t time.Time) func(*tar.Writer) error {
	return func(tw *tar.Writer) error {
		name := path.Join(windowsFiles, p)
		var parents []string
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			parents = append(parents, d)
		}
		slices.Reverse(parents)
		dirs := append([]string{windowsHives}, parents...)
		var hs []*tar.Header
		for _, d := range dirs {
			hs = append(hs, tarHeader(d, tar.TypeDir, windowsMode, 0, 0, t))
		}
		bin := tarHeader(name, tar.TypeReg, windowsMode, size, 0, t)
		bin.PAXRecords = map[string]string{paxRawSD: windowsBinarySD}
		for _, h := range append(hs, bin) {
			if err := tw.WriteHeader(h); err != nil {
				return fmt.Errorf("writing tar header %s: %w", h.Name, err)
			}
		}
		if _, err := io.CopyN(tw, ctxReader{ctx, r}, size); err != nil {
			return fmt.Errorf("copying binary into layer: %w", err)
		}
		return nil
	}
}

// windowsEnv prepends dir (a Windows path) to the base's PATH (Windows
// variable names ignore case), or sets PATH to dir and the system
// directories when the base has none.
func windowsEnv(base []string, dir string) []string {
	env := make([]string, 0, len(base)+1)
	found := false
	for _, e := range base {
		k, v, _ := strings.Cut(e, "=")
		if !found && strings.EqualFold(k, "PATH") {
			found = true
			e = k + "=" + dir + ";" + v
		}
		env = append(env, e)
	}
	if !found {
		env = append(env, `PATH=`+dir+`;C:\Windows\system32;C:\Windows`)
	}
	return env
}
