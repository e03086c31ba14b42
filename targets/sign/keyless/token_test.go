package keyless_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gantrybuild/gantry/targets/sign/keyless"
)

// The token comes from SIGSTORE_ID_TOKEN first, else from GitHub Actions'
// request endpoint with audience sigstore and the request bearer.
func TestTokenSource(t *testing.T) {
	var gotAudience, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAudience, gotAuth = r.URL.Query().Get("audience"), r.Header.Get("Authorization")
		if gotAuth != "Bearer req-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"count":1,"value":"from-actions"}`))
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name    string
		ts      keyless.TokenSource
		want    string
		wantErr string
	}{
		{"direct token wins", keyless.TokenSource{IDToken: "direct", ActionsRequestURL: srv.URL, ActionsRequestToken: "req-token"}, "direct", ""},
		{"github actions", keyless.TokenSource{ActionsRequestURL: srv.URL + "/?api-version=2.0", ActionsRequestToken: "req-token"}, "from-actions", ""},
		{"wrong request token", keyless.TokenSource{ActionsRequestURL: srv.URL, ActionsRequestToken: "other"}, "", "401"},
		{"url without token", keyless.TokenSource{ActionsRequestURL: srv.URL}, "", "id-token: write"},
		{"nothing", keyless.TokenSource{}, "", "SIGSTORE_ID_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ts.Token(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Token() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Token() = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := (keyless.TokenSource{ActionsRequestURL: srv.URL + "/?api-version=2.0", ActionsRequestToken: "req-token"}).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if gotAudience != "sigstore" {
		t.Errorf("audience = %q, want sigstore", gotAudience)
	}
	if _, err := (keyless.TokenSource{}).Token(context.Background()); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("no source: error %v, want ErrNoToken", err)
	}
}

func TestServicesValidate(t *testing.T) {
	for _, tc := range []struct {
		s       keyless.Services
		wantErr string
	}{
		{keyless.Public(), ""},
		{keyless.Services{Fulcio: "http://127.0.0.1:1", TSA: "http://127.0.0.1:2/api/v1/timestamp"}, ""},
		{keyless.Services{TSA: "https://tsa"}, "Fulcio URL"},
		{keyless.Services{Fulcio: "https://f", Rekor: "https://r"}, "timestamp authority"},
		{keyless.Services{Fulcio: "fulcio.example.com", TSA: "https://t"}, `"fulcio.example.com" is not an http(s) URL`},
	} {
		err := tc.s.Validate()
		if tc.wantErr == "" && err != nil {
			t.Errorf("%+v: %v", tc.s, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%+v: error %v, want one containing %q", tc.s, err, tc.wantErr)
		}
	}
}
