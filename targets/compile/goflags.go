package compile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CheckGOFLAGS returns an error explaining, flag by flag, why a GOFLAGS value
// cannot be used for a reproducible release build, or nil. It refuses flags
// that instrument or reshape the binary (-race, -msan, -asan, -cover,
// -coverpkg, -covermode, -linkshared, -buildmode other than exe or pie,
// -compiler=gccgo, -n), that change it from outside the project's
// configuration (-toolexec, -overlay, -gcflags, -asmflags, -tags) and that
// Gantry's own flags would silently replace (-ldflags). Flags that Gantry's
// command line overrides with the value it needs (-trimpath=false,
// -buildvcs=true) and flags about the build process (-mod, -modfile, -a, -p,
// -v, -x, -pgo) are fine.
func CheckGOFLAGS(goflags string) error {
	fields, err := splitQuoted(goflags)
	if err != nil {
		return fmt.Errorf("GOFLAGS %q: %w: fix the quoting", goflags, err)
	}
	var errs []error
	for _, f := range fields {
		name, value, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if why := refusal(name, value, hasValue); why != "" {
			errs = append(errs, fmt.Errorf("GOFLAGS contains %s, which %s", f, why))
		}
	}
	return errors.Join(errs...)
}

// refusal says why flag -name[=value] is refused, or "" if it is fine.
func refusal(name, value string, hasValue bool) string {
	const remove = ": remove it from GOFLAGS"
	switch name {
	case "toolexec":
		if value != "" {
			return "runs a program around every compiler and linker call, so the binary depends on that program" + remove
		}
	case "overlay":
		if value != "" {
			return "replaces source files with the ones a JSON file lists, outside the source tree" + remove
		}
	case "race", "msan", "asan":
		if isOn(value, hasValue) {
			return "instruments the binary for testing and needs cgo (Gantry builds with CGO_ENABLED=0)" + remove
		}
	case "cover":
		if isOn(value, hasValue) {
			return "instruments the binary for coverage" + remove
		}
	case "coverpkg", "covermode":
		if value != "" {
			return "turns on coverage instrumentation" + remove
		}
	case "linkshared":
		if isOn(value, hasValue) {
			return "links against Go shared libraries that are not in the image" + remove
		}
	case "n":
		if isOn(value, hasValue) {
			return "prints the build commands without running them, so nothing is built" + remove
		}
	case "buildmode":
		if value != "default" && value != "exe" && value != "pie" {
			return "does not build a standalone executable (valid: default, exe, pie)" + remove
		}
	case "compiler":
		if value != "gc" {
			return "selects a compiler other than gc, the only one that builds reproducibly with -trimpath" + remove
		}
	case "gcflags", "asmflags":
		if value != "" {
			return "changes the generated code from outside the project's configuration" + remove
		}
	case "ldflags":
		if value != "" {
			return "Gantry's own -ldflags replaces, so it would be silently ignored: move the linker flags to Gantry's ldflags setting and remove it from GOFLAGS"
		}
	case "tags":
		if value != "" {
			return "sets build tags from outside the project's configuration (and is replaced when Gantry's tags are set): move them to Gantry's tags setting and remove it from GOFLAGS"
		}
	}
	return ""
}

// isOn reports whether a boolean flag is set: -race and -race=true are,
// -race=false is not. A value the go command would reject counts as on.
func isOn(value string, hasValue bool) bool {
	if !hasValue {
		return true
	}
	b, err := strconv.ParseBool(value)
	return err != nil || b
}

// splitQuoted splits GOFLAGS the way the go command does
// (cmd/internal/quoted): on white space, with '…' or "…" around a field
// keeping its spaces; there are no escapes.
func splitQuoted(s string) ([]string, error) {
	var fields []string
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return fields, nil
		}
		if q := s[0]; q == '\'' || q == '"' {
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c string", q)
			}
			fields = append(fields, s[1:1+end])
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t\n\r")
		if end < 0 {
			end = len(s)
		}
		fields = append(fields, s[:end])
		s = s[end:]
	}
}
