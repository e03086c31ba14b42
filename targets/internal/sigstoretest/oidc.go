package sigstoretest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Workflow is the GitHub Actions run a token is minted for.
type Workflow struct {
	Repository string // org/app
	Path       string // .github/workflows/release.yml
	Ref        string // refs/tags/v1.2.3
	SHA        string
}

// DefaultWorkflow is the run tokens are minted for unless a test names
// another.
func DefaultWorkflow() Workflow {
	return Workflow{
		Repository: "org/app",
		Path:       ".github/workflows/release.yml",
		Ref:        "refs/tags/v1.2.3",
		SHA:        "0123456789abcdef0123456789abcdef01234567",
	}
}

// Identity is the certificate identity Fulcio gives a token of w (the
// certificate's URI SAN): https://github.com/<job_workflow_ref>.
func (w Workflow) Identity() string {
	return "https://github.com/" + w.jobWorkflowRef()
}

func (w Workflow) jobWorkflowRef() string { return w.Repository + "/" + w.Path + "@" + w.Ref }

// issuer is an OIDC issuer on 127.0.0.1 that mints tokens shaped like
// GitHub Actions' (the claims Fulcio's github-workflow issuer type reads),
// and serves GitHub's token request endpoint.
type issuer struct {
	URL          string
	RequestToken string // the bearer the token request endpoint wants

	key *rsa.PrivateKey
	srv *http.Server
}

func startIssuer() (*issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	iss := &issuer{URL: "http://" + l.Addr().String(), RequestToken: "gantry-test-request-token", key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "test", Algorithm: "RS256", Use: "sig"}}})
	})
	// GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL: GET with the request
	// token as bearer and ?audience=, answers {"value": "<jwt>"}.
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+iss.RequestToken {
			http.Error(w, "bad request token", http.StatusUnauthorized)
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			aud = "https://github.com/org"
		}
		tok, err := iss.Mint(DefaultWorkflow(), aud, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"value": tok})
	})
	iss.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go iss.srv.Serve(l)
	return iss, nil
}

func (i *issuer) close() { i.srv.Close() }

// Mint returns an ID token for w with audience aud, issued at now, valid
// for ten minutes.
func (i *issuer) Mint(w Workflow, aud string, now time.Time) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: i.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test"))
	if err != nil {
		return "", err
	}
	owner, _, _ := strings.Cut(w.Repository, "/")
	workflowRef := w.jobWorkflowRef()
	claims := map[string]any{
		"iss":                   i.URL,
		"aud":                   aud,
		"sub":                   fmt.Sprintf("repo:%s:ref:%s", w.Repository, w.Ref),
		"iat":                   now.Unix(),
		"nbf":                   now.Add(-time.Minute).Unix(),
		"exp":                   now.Add(10 * time.Minute).Unix(),
		"job_workflow_ref":      workflowRef,
		"job_workflow_sha":      w.SHA,
		"workflow_ref":          workflowRef,
		"workflow_sha":          w.SHA,
		"sha":                   w.SHA,
		"event_name":            "push",
		"repository":            w.Repository,
		"repository_id":         "1000",
		"repository_owner":      owner,
		"repository_owner_id":   "2000",
		"repository_visibility": "public",
		"workflow":              "release",
		"ref":                   w.Ref,
		"ref_type":              "tag",
		"runner_environment":    "github-hosted",
		"run_id":                "3000",
		"run_attempt":           "1",
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
