package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EngineProjectVar carries the project a magefile registered with
// gantry.Configure into Gantry's engine, which runs the targets in a
// process of its own (package targets/gantry).
const EngineProjectVar = "GANTRY_ENGINE_PROJECT"

// EngineProject returns the project handed to the engine, if any.
func EngineProject(env Env) (Project, bool, error) {
	v, ok := env.lookup(EngineProjectVar)
	if !ok {
		return Project{}, false, nil
	}
	var p Project
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Project{}, false, fmt.Errorf("%s: the project from the magefile does not decode (%v): the magefile's Gantry and the engine's differ; run `go mod tidy` in magefiles/", EngineProjectVar, err)
	}
	return p, true, nil
}

// ToolchainEnv returns the environment settings that can change what the
// go command builds (GO* and CGO_* variables but for the ones that only
// say where caches, proxies and temporary files are, or tune the running
// program), sorted: part of the key of Gantry's engine binary.
func ToolchainEnv() []string {
	skip := map[string]bool{
		"GOCACHE": true, "GOMODCACHE": true, "GOPATH": true, "GOTMPDIR": true, "GOENV": true,
		"GOPROXY": true, "GOSUMDB": true, "GONOSUMDB": true, "GONOPROXY": true, "GOPRIVATE": true,
		"GOINSECURE": true, "GOAUTH": true, "GOVCS": true, "GOTELEMETRY": true, "GOTELEMETRYDIR": true,
		"GODEBUG": true, "GOTRACEBACK": true, "GOMAXPROCS": true, "GOGC": true, "GOMEMLIMIT": true,
		"GOROOT_FINAL": true,
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "GO") || strings.HasPrefix(name, "CGO_")) && !skip[name] {
			out = append(out, kv)
		}
	}
	sort.Strings(out)
	return out
}

// GoEnvFile is the file `go env -w` writes settings to ("" when off or
// unknown).
func GoEnvFile() string {
	if f, ok := os.LookupEnv("GOENV"); ok {
		if f == "off" {
			return ""
		}
		return f
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "go", "env")
}
