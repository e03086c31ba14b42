package registrytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// tokenAuth is bearer token auth done by the proxy, as a registry's token
// service does it (distribution's token spec): a request without a valid
// token gets 401 with a Bearer challenge naming /token on the proxy, which
// trades basic credentials for a token. Each token expires ttl after it
// was issued, so a push that takes longer must renew it.
type tokenAuth struct {
	user, password string
	ttl            time.Duration
	live           map[string]time.Time // token → expiry
	next           int
}

// RequireTokens makes the proxy demand bearer tokens issued by its own
// /token endpoint for user and password, each good for ttl. The proxy
// strips them before forwarding.
func (p *Proxy) RequireTokens(user, password string, ttl time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens = &tokenAuth{user: user, password: password, ttl: ttl, live: map[string]time.Time{}}
}

func (p *Proxy) tokenAuth() *tokenAuth {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// authorize serves /token, and lets through /v2/ requests that carry a live
// token; it answers the others 401 with a challenge and returns false.
func (p *Proxy) authorize(w http.ResponseWriter, r *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ta := p.tokens
	if r.URL.Path == "/token" {
		user, pass, ok := r.BasicAuth()
		if !ok || user != ta.user || pass != ta.password {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}`)
			return false
		}
		ta.next++
		tok := fmt.Sprintf("tok-%d", ta.next)
		ta.live[tok] = time.Now().Add(ta.ttl)
		p.counts.TokensIssued++
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": int(ta.ttl.Seconds())})
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if expiry, live := ta.live[tok]; ok && live {
		if time.Now().Before(expiry) {
			return true
		}
		delete(ta.live, tok)
	}
	scope := ""
	if repo, _, found := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/"); found {
		scope = fmt.Sprintf(`,scope="repository:%s:pull,push"`, repo)
	} else if repo, _, found := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/"); found {
		scope = fmt.Sprintf(`,scope="repository:%s:pull,push"`, repo)
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="gantry-test"%s`, r.Host, scope))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	return false
}
