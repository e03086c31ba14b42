package gitinfo

import (
	"net/url"
	"strings"
)

// NormalizeURL turns a remote URL into a web URL without credentials:
// "git@github.com:org/repo.git" → "https://github.com/org/repo",
// "https://user:token@host/org/repo.git" → "https://host/org/repo",
// "ssh://git@host:22/org/repo" → "https://host/org/repo". ssh and git://
// remotes become https (their port is dropped); http stays http, since the
// server may not speak TLS. Local paths, file:// URLs, remote helpers and
// anything unparsable give "".
func NormalizeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || isLocalPath(raw) {
		return ""
	}
	if !strings.Contains(raw, "://") {
		return normalizeSCP(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Host)
	switch strings.ToLower(u.Scheme) {
	case "https":
		return web("https", host, u.EscapedPath())
	case "http":
		return web("http", host, u.EscapedPath())
	case "ssh", "git+ssh", "ssh+git", "git":
		host = strings.ToLower(u.Hostname())
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return web("https", host, u.EscapedPath())
	default:
		return ""
	}
}

// normalizeSCP handles git's scp-like syntax, "[user@]host:path", with an
// IPv6 host in brackets.
func normalizeSCP(raw string) string {
	s := raw
	for {
		i := strings.IndexAny(s, "@:/[")
		if i < 0 || s[i] != '@' {
			break
		}
		s = s[i+1:] // user
	}
	var host, path string
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return ""
		}
		host, path = s[:end+1], s[end+2:]
	} else {
		var ok bool
		host, path, ok = strings.Cut(s, ":")
		if !ok || strings.Contains(host, "/") {
			return ""
		}
	}
	if path == "" {
		return ""
	}
	return web("https", strings.ToLower(host), "/"+strings.TrimPrefix(path, "/"))
}

// isLocalPath reports paths git treats as local: absolute, relative,
// home-relative, file:// URLs and Windows drive paths ("C:\repo", "C:/repo").
func isLocalPath(raw string) bool {
	if strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, ".") ||
		strings.HasPrefix(raw, "~") || strings.HasPrefix(raw, `\`) ||
		strings.HasPrefix(strings.ToLower(raw), "file:") {
		return true
	}
	return len(raw) >= 2 && raw[1] == ':' && isLetter(raw[0]) &&
		(len(raw) == 2 || raw[2] == '/' || raw[2] == '\\')
}

func isLetter(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// web assembles scheme://host/path with trailing slashes and ".git" removed.
func web(scheme, host, path string) string {
	if host == "" {
		return ""
	}
	path = strings.TrimRight(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	return scheme + "://" + host + path
}

// localPath turns a local remote URL into a file system path.
func localPath(raw string) string {
	if strings.HasPrefix(raw, "file://") {
		return strings.TrimPrefix(raw, "file://")
	}
	return raw
}
