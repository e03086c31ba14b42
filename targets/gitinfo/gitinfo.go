// Package gitinfo reads what a build needs to know about its source from git,
// using go-git (no git binary).
package gitinfo

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Info describes the commit a build comes from.
type Info struct {
	Found      bool      // false outside a git repository or before its first commit (the caller warns)
	Revision   string    // full commit SHA
	Short      string    // 12-character abbreviation, as Go pseudo-versions use
	CommitTime time.Time // committer time, UTC
	Source     string    // origin remote as a web URL (see NormalizeURL); "" if none
	Branch     string    // current branch; "" on a detached HEAD
	Tag        string    // highest semver tag pointing at HEAD, if any
	Version    string    // see Read
	Dirty      bool      // work tree differs from HEAD, see Read
	Changes    []string  // when dirty: the first changed paths, as `git status --porcelain` prints them
	Shallow    bool      // the clone is shallow
}

// Read opens the repository containing dir (searching parent directories)
// and describes HEAD.
//
// Only full semver tags with a leading v count ("v1.2.3", "v2.0.0-rc.1"),
// lightweight or annotated; "v1", "1.2.3" and "latest" are ignored. Version
// is: the highest such tag on HEAD ("v1.2.3"); else `git describe --tags`
// style "<tag>-<n>-g<abbrev7>", where <tag> is on the newest tagged ancestor
// of HEAD and <n> counts the commits in <tag>..HEAD; else a Go
// pseudo-version "v0.0.0-<yyyymmddhhmmss>-<short12>". "-dirty" is appended
// to a dirty tree.
//
// Dirty follows `git status --porcelain`: staged, modified, deleted and
// untracked files count, files ignored by the repository's .gitignore files
// or .git/info/exclude do not. Unlike `git describe --dirty`, untracked files
// count, since go build may read them; a user's global excludes file is not
// read, so the answer does not depend on who builds.
//
// Shallow clones and detached HEADs work (a shallow clone that does not reach
// a tag falls back to the pseudo-version). Outside a repository, or in one
// without commits, it returns Info{Found: false} and a nil error.
func Read(dir string, opts ...Option) (Info, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := os.Stat(dir); err != nil {
		return Info{}, fmt.Errorf("reading git info: %w", err)
	}
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return Info{}, nil
	}
	if err != nil {
		return Info{}, fmt.Errorf("opening git repository at %s: %w", dir, err)
	}
	info, err := describe(repo, o)
	if err != nil {
		return Info{}, fmt.Errorf("reading git info in %s: %w", dir, err)
	}
	return info, nil
}

// Option tunes Read.
type Option func(*options)

type options struct {
	ignore []string // absolute paths that never make the tree dirty
}

// IgnorePaths makes changes under these paths (the build's own output
// directory, say) not count as dirty, whether or not .gitignore lists them.
func IgnorePaths(paths ...string) Option {
	return func(o *options) { o.ignore = append(o.ignore, paths...) }
}

func describe(repo *git.Repository, o options) (Info, error) {
	head, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return Info{}, nil // no commits yet
	}
	if err != nil {
		return Info{}, fmt.Errorf("resolving HEAD: %w", err)
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return Info{}, fmt.Errorf("reading HEAD commit %s: %w", head.Hash(), err)
	}
	rev := commit.Hash.String()
	info := Info{
		Found:      true,
		Revision:   rev,
		Short:      abbrev(rev, shortLen),
		CommitTime: commit.Committer.When.UTC(),
	}
	if head.Name().IsBranch() {
		info.Branch = head.Name().Short()
	}
	if info.Source, err = origin(repo); err != nil {
		return Info{}, err
	}
	shallow, err := repo.Storer.Shallow()
	if err != nil {
		return Info{}, fmt.Errorf("reading shallow commits: %w", err)
	}
	info.Shallow = len(shallow) > 0

	objects, closeObjects := walkStorer(repo)
	defer closeObjects()
	tags, err := releaseTags(objects)
	if err != nil {
		return Info{}, err
	}
	info.Tag = highest(tags[commit.Hash])
	var nearest string
	var distance int
	if info.Tag == "" && len(tags) > 0 {
		g := newGraph(objects, shallow)
		tag, at, ok, err := g.nearestTag(commit.Hash, tags)
		if err != nil {
			return Info{}, fmt.Errorf("finding the nearest tag: %w", err)
		}
		if ok {
			nearest = tag
			if distance, err = g.distance(commit.Hash, at); err != nil {
				return Info{}, fmt.Errorf("counting commits since %s: %w", tag, err)
			}
		}
	}
	if info.Changes, err = changes(repo, o.ignore); err != nil {
		return Info{}, err
	}
	info.Dirty = len(info.Changes) > 0
	info.Version = version(info.Tag, nearest, distance, rev, info.CommitTime, info.Dirty)
	return info, nil
}

// origin returns the normalized URL of the origin remote, "" if none. A
// clone of a local clone (`git clone ../app`) reports the origin of the
// repository it was cloned from, so both build the same image.
func origin(repo *git.Repository) (string, error) {
	for hops := 0; hops < 4; hops++ {
		remote, err := repo.Remote(git.DefaultRemoteName)
		if errors.Is(err, git.ErrRemoteNotFound) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("reading remote %s: %w", git.DefaultRemoteName, err)
		}
		urls := remote.Config().URLs
		if len(urls) == 0 {
			return "", nil
		}
		if !isLocalPath(urls[0]) {
			return NormalizeURL(urls[0]), nil
		}
		next, err := git.PlainOpen(localPath(urls[0]))
		if err != nil {
			return "", nil // a path that is gone or not a repository: no source
		}
		repo = next
	}
	return "", nil
}

// walkStorer returns a storer for the commit walk that keeps pack files open:
// by default go-git reopens the pack for every object, which made a walk of
// 5000 packed commits take 0.4s instead of 0.1s. Call done afterwards.
func walkStorer(repo *git.Repository) (s storer.Storer, done func()) {
	fsStore, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return repo.Storer, func() {}
	}
	kept := filesystem.NewStorageWithOptions(fsStore.Filesystem(), cache.NewObjectLRUDefault(),
		filesystem.Options{KeepDescriptors: true})
	return kept, func() { _ = kept.Close() }
}
