// Package version holds what the build knows about itself, as many CLIs
// keep it: outside package main, set by the linker's -X.
package version

// Version and GitCommit are set at build time with
// -X example.com/verpkg/internal/version.Version=….
var (
	Version   = "v0.0.0-unset"
	GitCommit = "unset"
	BuildDate string
)

// userAgent is not a variable -X could be pointed at by mistake: it is
// computed.
var userAgent = "verpkg/" + Version

// UserAgent is what the program sends as its user agent.
func UserAgent() string { return userAgent }
