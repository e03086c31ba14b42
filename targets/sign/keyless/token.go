package keyless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Audience is the audience Fulcio accepts in an identity token.
const Audience = "sigstore"

// ErrNoToken is returned when no identity token is available: a job
// without `id-token: write`, a pull request from a fork, a developer
// machine.
var ErrNoToken = errors.New("no OIDC identity token for keyless signing: set SIGSTORE_ID_TOKEN; on GitHub Actions give the signing job `permissions: id-token: write`; on GitLab declare `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`")

// TokenSource says where the identity token comes from, in order: a token
// given directly (SIGSTORE_ID_TOKEN, which GitLab's id_tokens fills by
// convention), else GitHub Actions' token request endpoint.
type TokenSource struct {
	IDToken string
	// ActionsRequestURL and ActionsRequestToken are GitHub Actions'
	// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	ActionsRequestURL, ActionsRequestToken string
	// HTTP is the client for the request endpoint; default a 30 s timeout.
	HTTP *http.Client
}

// Available reports whether the source names a token at all.
func (ts TokenSource) Available() bool {
	return ts.IDToken != "" || (ts.ActionsRequestURL != "" && ts.ActionsRequestToken != "")
}

// Token returns the identity token, fetching it from GitHub Actions when
// that is the source.
func (ts TokenSource) Token(ctx context.Context) (string, error) {
	switch {
	case ts.IDToken != "":
		return ts.IDToken, nil
	case ts.ActionsRequestURL != "" && ts.ActionsRequestToken != "":
		return ts.actionsToken(ctx)
	case ts.ActionsRequestURL != "":
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not: give the job `permissions: id-token: write`")
	}
	return "", ErrNoToken
}

// actionsToken asks GitHub Actions for an ID token with audience sigstore,
// as actions/toolkit's getIDToken does.
func (ts TokenSource) actionsToken(ctx context.Context) (string, error) {
	u, err := url.Parse(ts.ActionsRequestURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL %q: %w", ts.ActionsRequestURL, err)
	}
	q := u.Query()
	q.Set("audience", Audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+ts.ActionsRequestToken)
	req.Header.Set("Accept", "application/json")
	c := ts.HTTP
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting an ID token from GitHub Actions: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("requesting an ID token from GitHub Actions: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting an ID token from GitHub Actions: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("GitHub Actions answered the ID token request without a token (%.100s)", body)
	}
	return v.Value, nil
}
