package config

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gantrybuild/gantry/targets/assets"
)

// File is one copy into the image: a file, a directory (its contents) or a
// glob of the module, to an absolute path in the image.
type File struct {
	Src  string      // path or glob relative to the image's module directory (Image.Dir), e.g. web/static or migrations/*.sql
	Dst  string      // absolute path in the image; a file goes into it when it ends in "/", a directory's contents go under it, a glob's matches into it
	Mode fs.FileMode // permission bits of the copied files; 0: 0755 when the source has an executable bit, else 0644
}

// DefaultKoData is where the main package's kodata/ directory goes, as ko
// puts it (KO_DATA_PATH).
const DefaultKoData = assets.KoDataPath

var (
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	portForm = regexp.MustCompile(`^([0-9]{1,5})(?:/(tcp|udp|sctp))?$`)
)

// signals are the names a stop signal may have (Linux, as runtimes parse
// them with or without the SIG prefix).
var signals = []string{
	"ABRT", "ALRM", "BUS", "CHLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "KILL", "PIPE", "PROF",
	"PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG",
	"USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
}

// resolveContents checks and normalises what the image carries besides the
// binary: environment names, working directory, ports, stop signal, and
// the files (every source resolved now, so a missing file or a link out of
// its tree fails before anything is built). name and dir are the image's.
func resolveContents(img *Image, dir string) error {
	where := fmt.Sprintf("image %s: ", img.Name)
	for _, k := range slices.Sorted(maps.Keys(img.Env)) {
		if !envName.MatchString(k) {
			return fmt.Errorf("%sEnv key %q is not a valid environment variable name: use letters, digits and _, not starting with a digit (e.g. APP_MODE)", where, k)
		}
	}
	if img.WorkingDir != "" {
		if err := assets.CheckDst(img.WorkingDir); err != nil {
			return fmt.Errorf("%sWorkingDir %q %w", where, img.WorkingDir, err)
		}
	}
	ports := make([]string, 0, len(img.Ports))
	for _, p := range img.Ports {
		norm, err := normPort(p)
		if err != nil {
			return fmt.Errorf("%sPorts entry %q %w", where, p, err)
		}
		if !slices.Contains(ports, norm) {
			ports = append(ports, norm)
		}
	}
	img.Ports = nil
	if len(ports) > 0 {
		img.Ports = ports
	}
	if img.StopSignal != "" {
		sig, err := normSignal(img.StopSignal)
		if err != nil {
			return fmt.Errorf("%sStopSignal %q %w", where, img.StopSignal, err)
		}
		img.StopSignal = sig
	}
	if img.MaxFileSize < 0 {
		return fmt.Errorf("%sMaxFileSize %d is negative: give a size in bytes, or 0 for no limit", where, img.MaxFileSize)
	}
	if img.KoData == "" {
		img.KoData = DefaultKoData
	}
	if img.KoData != "-" {
		if err := assets.CheckDst(img.KoData); err != nil {
			return fmt.Errorf("%sKoData %q %w (or \"-\" to leave kodata/ out)", where, img.KoData, err)
		}
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(img.Main), "kodata")); err != nil || !fi.IsDir() {
			img.KoData = "" // nothing to add
		}
	}
	if img.KoData == "-" {
		img.KoData = ""
	}
	specs := fileSpecs(img.Main, img.KoData, img.Files)
	if _, err := assets.Resolve(dir, specs, assets.Options{MaxFileSize: img.MaxFileSize}); err != nil {
		return fmt.Errorf("%s%w", where, err)
	}
	return nil
}

// FileSpecs are the image's copies: the main package's kodata/ (when it
// has one and KoData is not "-"), then Files in order.
func (img ResolvedImage) FileSpecs() []assets.Spec {
	return fileSpecs(img.Main, img.KoData, img.Files)
}

func fileSpecs(main, kodata string, files []File) []assets.Spec {
	var specs []assets.Spec
	if kodata != "" {
		src := filepath.ToSlash(filepath.Join(filepath.FromSlash(main), "kodata"))
		specs = append(specs, assets.Spec{Field: "kodata", Src: src, Dst: kodata})
	}
	for i, f := range files {
		specs = append(specs, assets.Spec{Field: fmt.Sprintf("Files[%d]", i), Src: f.Src, Dst: f.Dst, Mode: f.Mode})
	}
	return specs
}

// EnvList is the image's environment as KEY=value, sorted by key: Env, and
// KO_DATA_PATH when kodata/ is added and Env does not set it (a windows
// image gets the Windows spelling of the path, C:\var\run\ko).
func (img ResolvedImage) EnvList(windows bool) []string {
	env := maps.Clone(img.Env)
	if img.KoData != "" {
		if _, ok := env["KO_DATA_PATH"]; !ok {
			if env == nil {
				env = map[string]string{}
			}
			env["KO_DATA_PATH"] = img.KoData
			if windows {
				env["KO_DATA_PATH"] = `C:` + strings.ReplaceAll(img.KoData, "/", `\`)
			}
		}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// normPort checks a port and gives it the image config's form, 8080/tcp.
func normPort(p string) (string, error) {
	m := portForm.FindStringSubmatch(strings.ToLower(strings.TrimSpace(p)))
	if m == nil {
		return "", fmt.Errorf("is not a port: use <number>[/tcp|/udp|/sctp], e.g. 8080 or 53/udp")
	}
	n, _ := strconv.Atoi(m[1])
	if n < 1 || n > 65535 {
		return "", fmt.Errorf("is out of range: a port is 1 to 65535")
	}
	proto := m[2]
	if proto == "" {
		proto = "tcp"
	}
	return fmt.Sprintf("%d/%s", n, proto), nil
}

// normSignal checks a stop signal: a name with or without SIG (TERM,
// SIGTERM, SIGRTMIN+3) or a number 1 to 64; names are given the SIG
// prefix, as runtimes print them.
func normSignal(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return "", fmt.Errorf("is not a signal number: use 1 to 64, or a name such as SIGTERM")
		}
		return s, nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if slices.Contains(signals, name) {
		return "SIG" + name, nil
	}
	for _, base := range []string{"RTMIN+", "RTMAX-"} {
		if rest, ok := strings.CutPrefix(name, base); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 && n <= 30 {
				return "SIG" + name, nil
			}
		}
	}
	return "", fmt.Errorf("is not a signal: use a name such as SIGTERM, SIGINT or SIGQUIT, or a number 1 to 64")
}

// parseSize reads a size in bytes, or with a KiB, MiB or GiB suffix.
func parseSize(name, v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if rest, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = strings.TrimSpace(rest), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%s=%q is not a size: give bytes, or a number with KiB, MiB or GiB, e.g. 50MiB", name, v)
	}
	return n * mult, nil
}
