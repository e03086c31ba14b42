package config

import (
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
