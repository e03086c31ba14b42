package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadScaffold(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		want    Scaffold
		wantErr string
	}{
		{env: nil, want: Scaffold{Template: "github"}},
		{env: map[string]string{"GANTRY_TEMPLATE": "gitlab-split", "GANTRY_INIT_FORCE": "1", "GANTRY_INIT_DOCKERFILE": "true", "GANTRY_INIT_KIT": "v0.4.0"},
			want: Scaffold{Template: "gitlab-split", Force: true, Dockerfile: true, Kit: "v0.4.0"}},
		{env: map[string]string{"GANTRY_INIT_FORCE": "yes"}, wantErr: `GANTRY_INIT_FORCE="yes" is not a boolean`},
		{env: map[string]string{"GANTRY_INIT_KIT": "latest"}, wantErr: `GANTRY_INIT_KIT="latest" is not a module version`},
	} {
		got, err := LoadScaffold(MapEnv(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LoadScaffold(%v) error = %v, want %q", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("LoadScaffold(%v): %v", tc.env, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("LoadScaffold(%v) (-want +got):\n%s", tc.env, diff)
		}
	}
}

func TestMageCommand(t *testing.T) {
	write := func(t *testing.T, dir, rel, body string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no build module", map[string]string{"go.mod": "module example.com/app\n"}, "go tool mage"},
		{"build module, vendored app", map[string]string{"go.mod": "module example.com/app\n\ngo 1.24\n", "magefiles/go.mod": "module example.com/app/magefiles\n"}, "go -C magefiles tool mage -w .."},
		{"build module, root tool directive", map[string]string{"go.mod": "module example.com/app\n\ngo 1.24\n\ntool github.com/magefile/mage\n", "magefiles/go.mod": "module example.com/app/magefiles\n"}, "go tool mage"},
		{"the kit itself", map[string]string{"go.mod": "module github.com/gantrybuild/gantry\n\ngo 1.26\n\ntool github.com/magefile/mage\n", "magefiles/go.mod": "module github.com/gantrybuild/gantry/magefiles\n"}, "go tool mage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, body := range tc.files {
				write(t, dir, rel, body)
			}
			if got := MageCommand(dir); got != tc.want {
				t.Errorf("MageCommand = %q, want %q", got, tc.want)
			}
		})
	}
}
