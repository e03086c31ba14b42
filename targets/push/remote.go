package push

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// session is one push's connection to the registries. For each registry it
// authenticates once (ggcr's transport: ping, then basic or bearer auth,
// renewing an expired token), with every scope the push needs, and hands
// that transport to a ggcr Pusher and Puller, which then add nothing of
// their own: the retries are Gantry's, below the authentication.
type session struct {
	rt       http.RoundTripper // Gantry's transport, under the authentication
	keychain authn.Keychain
	jobs     int
	scopes   map[string][]string // registry → scopes to ask for
	policy   *policy
	obs      *observer

	mu        sync.Mutex // guards the Stats that count updates
	emu       sync.Mutex // guards endpoints; held while one is set up
	endpoints map[string]*endpoint
}

// endpoint is one registry, authenticated.
type endpoint struct {
	pusher *remote.Pusher
	puller *remote.Puller
}

func newSession(o *options, uploads []*upload) *session {
	pol := newPolicy(o, time.Now)
	pol.observed = func(err error) { o.progress.Event(Event{Kind: EventRetry, Err: err}) }
	var rt http.RoundTripper = &schemeGuard{next: o.base, insecure: o.insecure}
	rt = &idleTimeout{next: rt, d: o.idle}
	obs := newObserver(rt, o.progress)
	rt = &retrying{next: obs, policy: pol}
	rt = transport.NewUserAgent(rt, "gantry")

	var regs []name.Registry
	scopes := map[string][]string{}
	add := func(reg name.Registry, scope string) {
		if !slices.Contains(scopes[reg.String()], scope) {
			scopes[reg.String()] = append(scopes[reg.String()], scope)
		}
	}
	for _, t := range uploads {
		regs = append(regs, t.repo.Registry)
		add(t.repo.Registry, t.repo.Scope(transport.PushScope))
		for _, b := range t.src.allBlobs() {
			if b.base != nil && b.base.Context().RegistryStr() == t.repo.RegistryStr() {
				add(t.repo.Registry, b.base.Context().Scope(transport.PullScope)) // to mount from it
			}
		}
	}
	keychain := o.keychain
	if o.username != "" {
		keychain = authn.NewMultiKeychain(&staticKeychain{
			registries: regs,
			auth:       authn.FromConfig(authn.AuthConfig{Username: o.username, Password: o.password}),
		}, o.keychain)
	}
	return &session{rt: rt, keychain: keychain, jobs: o.jobs, scopes: scopes, policy: pol, obs: obs, endpoints: map[string]*endpoint{}}
}

// endpoint authenticates to reg once; callers run it under the policy.
func (s *session) endpoint(ctx context.Context, reg name.Registry) (*endpoint, error) {
	s.emu.Lock()
	defer s.emu.Unlock()
	if e, ok := s.endpoints[reg.String()]; ok {
		return e, nil
	}
	auth, err := authn.Resolve(ctx, s.keychain, reg)
	if err != nil {
		return nil, fmt.Errorf("finding credentials for %s: %w", reg, err)
	}
	tr, err := transport.NewWithContext(ctx, reg, auth, s.rt, s.scopes[reg.String()])
	if err != nil {
		return nil, err
	}
	opts := []remote.Option{
		remote.WithTransport(tr), // a transport.Wrapper: ggcr adds no transport of its own
		remote.WithJobs(s.jobs),
		// ggcr would still retry a whole blob upload, a few times, after
		// 1 s and 3 s: the policy does that, with the HEAD first.
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
	e := &endpoint{}
	if e.pusher, err = remote.NewPusher(opts...); err != nil {
		return nil, err
	}
	if e.puller, err = remote.NewPuller(opts...); err != nil {
		return nil, err
	}
	s.endpoints[reg.String()] = e
	return e, nil
}

// staticKeychain gives the configured credentials to the destination
// registries only.
type staticKeychain struct {
	registries []name.Registry
	auth       authn.Authenticator
}

func (k *staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	for _, reg := range k.registries {
		if reg.RegistryStr() == r.RegistryStr() {
			return k.auth, nil
		}
	}
	return authn.Anonymous, nil
}

// listTags lists repo's tags; a repository that does not exist yet has none.
func (s *session) listTags(ctx context.Context, repo name.Repository) ([]string, error) {
	var tags []string
	err := s.policy.do(ctx, func(ctx context.Context) error {
		e, err := s.endpoint(ctx, repo.Registry)
		if err != nil {
			return err
		}
		tags, err = e.puller.List(ctx, repo)
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	return tags, err
}

// head returns the descriptor ref names, or nil when there is none.
func (s *session) head(ctx context.Context, ref name.Reference) (*v1.Descriptor, error) {
	var d *v1.Descriptor
	err := s.policy.do(ctx, func(ctx context.Context) error {
		e, err := s.endpoint(ctx, ref.Context().Registry)
		if err != nil {
			return err
		}
		d, err = e.puller.Head(ctx, ref)
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	return d, err
}

// get fetches the manifest ref names.
func (s *session) get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	var d *remote.Descriptor
	err := s.policy.do(ctx, func(ctx context.Context) error {
		e, err := s.endpoint(ctx, ref.Context().Registry)
		if err != nil {
			return err
		}
		d, err = e.puller.Get(ctx, ref)
		return err
	})
	return d, err
}

// put uploads a manifest under ref (a digest or a tag).
func (s *session) put(ctx context.Context, ref name.Reference, t remote.Taggable) error {
	return s.policy.do(ctx, func(ctx context.Context) error {
		e, err := s.endpoint(ctx, ref.Context().Registry)
		if err != nil {
			return err
		}
		return e.pusher.Put(ctx, ref, t)
	})
}

// upload makes sure blob l is in repo: HEAD, then mount or upload. Every
// try starts with the HEAD, so what arrived in a failed try is not sent
// again, and a broken upload starts over in a new session.
func (s *session) upload(ctx context.Context, repo name.Repository, l v1.Layer) error {
	return s.policy.do(ctx, func(ctx context.Context) error {
		e, err := s.endpoint(ctx, repo.Registry)
		if err != nil {
			return err
		}
		return e.pusher.Upload(ctx, repo, l)
	})
}

func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.NameUnknownErrorCode || d.Code == transport.ManifestUnknownErrorCode {
			return true
		}
	}
	return false
}
