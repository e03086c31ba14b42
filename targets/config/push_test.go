package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pushModule writes a module with a main package at each of mains.
func pushModule(t *testing.T, mains ...string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"go.mod": "module example.com/shop\n\ngo 1.24\n"}
	for _, m := range mains {
		files[filepath.Join(m, "main.go")] = "package main\n\nfunc main() {}\n"
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadPush(t *testing.T) {
	one := pushModule(t, ".")
	c, err := Load(Project{}, MapEnv(map[string]string{
		"GANTRY_REPO":                "127.0.0.1:5000/shop",
		"GANTRY_SEMVER_TAGS":         "patch, latest",
		"GANTRY_ARCH_TAGS":           "uname",
		"GANTRY_IMMUTABLE_TAGS":      "1",
		"GANTRY_INSECURE_REGISTRIES": "registry.lan:5000",
		"GANTRY_PUSH_JOBS":           "8",
		"GANTRY_PUSH_RETRY_BUDGET":   "90s",
		"GANTRY_PROGRESS":            "plain",
		"GITHUB_ACTIONS":             "true",
		"GITHUB_OUTPUT":              "/tmp/out",
	}), one)
	if err != nil {
		t.Fatal(err)
	}
	want := PushConfig{
		Push: Push{
			Repos: []string{"127.0.0.1:5000/shop"}, SemverTags: []string{"patch", "latest"}, ArchTags: "uname",
			Immutable: true, Insecure: []string{"registry.lan:5000"}, Jobs: 8, RetryBudget: 90 * time.Second, Progress: "plain",
		},
		GitHubActions: true, GitHubOutput: "/tmp/out",
	}
	if diff := cmp.Diff(want, c.Push); diff != "" {
		t.Errorf("Push config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:5000/shop"}, c.Images[0].Repos); diff != "" {
		t.Errorf("one image: repos (-want +got):\n%s", diff)
	}

	// With several images, each repository is a prefix.
	multi := pushModule(t, "cmd/api", "cmd/worker")
	c, err = Load(Project{
		Images: []Image{{Main: "./cmd/api"}, {Main: "./cmd/worker"}},
		Push:   Push{Repos: []string{"ghcr.io/acme/", "registry.lan:5000/shop"}},
	}, nil, multi)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{
		{"ghcr.io/acme/api", "registry.lan:5000/shop/api"},
		{"ghcr.io/acme/worker", "registry.lan:5000/shop/worker"},
	} {
		if diff := cmp.Diff(want, c.Images[i].Repos); diff != "" {
			t.Errorf("image %s: repos (-want +got):\n%s", c.Images[i].Name, diff)
		}
	}

	// Nothing configured: push is off and nothing else changes.
	c, err = Load(Project{}, nil, one)
	if err != nil {
		t.Fatal(err)
	}
	if c.Push.Enabled() || c.Images[0].Repos != nil {
		t.Errorf("zero project: push enabled %t, repos %q", c.Push.Enabled(), c.Images[0].Repos)
	}
}

func TestLoadPushErrors(t *testing.T) {
	dir := pushModule(t, ".")
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GANTRY_REPO": "ghcr.io/Acme/App"}, `destination repository "ghcr.io/Acme/App" is not valid`},
		{map[string]string{"GANTRY_REPO": "ghcr.io/acme/app:v1"}, "give the repository only (ghcr.io/acme/app)"},
		{map[string]string{"GANTRY_REPO": "ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64)}, "give the repository only"},
		{map[string]string{"GANTRY_REPO": "https://ghcr.io/acme/app"}, "is not valid"},
		{map[string]string{"GANTRY_SEMVER_TAGS": "patch,micro"}, `semver tag kind "micro" is unknown`},
		{map[string]string{"GANTRY_PROGRESS": "fancy"}, `progress "fancy" is unknown`},
		{map[string]string{"GANTRY_PUSH_JOBS": "0"}, "GANTRY_PUSH_JOBS"},
		{map[string]string{"GANTRY_PUSH_RETRY_BUDGET": "ten minutes"}, "GANTRY_PUSH_RETRY_BUDGET"},
		{map[string]string{"GANTRY_IMMUTABLE_TAGS": "yes please"}, "GANTRY_IMMUTABLE_TAGS"},
		{map[string]string{"GANTRY_INSECURE_REGISTRIES": "http://registry.lan"}, "is not a registry host[:port]"},
		{map[string]string{"GANTRY_REGISTRY_USERNAME": "ci"}, "set both GANTRY_REGISTRY_USERNAME and GANTRY_REGISTRY_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.env), func(t *testing.T) {
			_, err := Load(Project{}, MapEnv(tt.env), dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%v) error = %v, want it to contain %q", tt.env, err, tt.want)
			}
		})
	}
}

// TestPushSecretNeverPrinted: the password reaches the config but no
// formatting, encoding or printing of it shows the value.
func TestPushSecretNeverPrinted(t *testing.T) {
	const password = "hunter2-very-secret"
	dir := pushModule(t, ".")
	env := MapEnv(map[string]string{"GANTRY_REPO": "ghcr.io/acme/shop", "GANTRY_REGISTRY_USERNAME": "ci", "GANTRY_REGISTRY_PASSWORD": password})
	c, err := Load(Project{}, env, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Push.Password.Reveal() != password {
		t.Fatalf("Reveal() = %q", c.Push.Password.Reveal())
	}
	var buf bytes.Buffer
	if err := Print(&buf, c, env); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(c)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %q", c, c.Push, c.Push, c.Push.Password, c.Push.Password), string(js), buf.String()} {
		if strings.Contains(s, password) {
			t.Errorf("the password shows in %q", s)
		}
	}
	if !strings.Contains(buf.String(), "GANTRY_REGISTRY_PASSWORD  (set)") && !strings.Contains(buf.String(), "(set)") {
		t.Errorf("Print does not say the password is set:\n%s", buf.String())
	}
}
