package gitinfo

import "testing"

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		raw, want string
	}{
		// scp-like ssh
		{"git@github.com:gantrybuild/gantry.git", "https://github.com/gantrybuild/gantry"},
		{"git@github.com:gantrybuild/gantry", "https://github.com/gantrybuild/gantry"},
		{"github.com:gantrybuild/gantry.git", "https://github.com/gantrybuild/gantry"},
		{"git@GitLab.com:group/sub/repo.git/", "https://gitlab.com/group/sub/repo"},
		{"git@example.com:/srv/git/repo.git", "https://example.com/srv/git/repo"},
		{"user@[::1]:repo.git", "https://[::1]/repo"},
		{"a@b@host:repo", "https://host/repo"},
		// ssh://
		{"ssh://git@github.com/gantrybuild/gantry.git", "https://github.com/gantrybuild/gantry"},
		{"ssh://git@host:22/org/repo", "https://host/org/repo"},
		{"ssh://git@host:2222/org/repo.git", "https://host/org/repo"},
		{"git+ssh://git@host/org/repo.git", "https://host/org/repo"},
		{"ssh://[::1]:22/org/repo", "https://[::1]/org/repo"},
		// https and http
		{"https://github.com/gantrybuild/gantry.git", "https://github.com/gantrybuild/gantry"},
		{"https://user:token@host/org/repo.git", "https://host/org/repo"},
		{"https://x-access-token:ghs_abc@github.com/org/repo", "https://github.com/org/repo"},
		{"https://oauth2@gitlab.example.com:8443/org/repo.git", "https://gitlab.example.com:8443/org/repo"},
		{"HTTPS://GitHub.com/Org/Repo", "https://github.com/Org/Repo"},
		{"https://host/org/repo/", "https://host/org/repo"},
		{"https://host/org/repo.git/", "https://host/org/repo"},
		{"https://host/org/repo?x=1#frag", "https://host/org/repo"},
		{"https://host", "https://host"},
		{"http://git.internal/org/repo.git", "http://git.internal/org/repo"},
		{"http://user:pw@git.internal:8080/org/repo", "http://git.internal:8080/org/repo"},
		// git://
		{"git://github.com/gantrybuild/gantry.git", "https://github.com/gantrybuild/gantry"},
		{"git://host:9418/org/repo", "https://host/org/repo"},
		// local and unusable
		{"", ""},
		{"   ", ""},
		{"/srv/git/repo.git", ""},
		{"../repo", ""},
		{"./repo", ""},
		{"~/src/repo", ""},
		{"file:///srv/git/repo.git", ""},
		{"file://localhost/srv/repo", ""},
		{`C:\repos\gantry`, ""},
		{"C:/repos/gantry", ""},
		{`\\server\share\repo`, ""},
		{"s3://bucket/repo", ""},
		{"codecommit::us-east-1://repo", ""},
		{"https:///no-host", ""},
		{"repo", ""},
		{"host:", ""},
	}
	for _, tt := range tests {
		if got := NormalizeURL(tt.raw); got != tt.want {
			t.Errorf("NormalizeURL(%q): got %q, want %q", tt.raw, got, tt.want)
		}
	}
}
