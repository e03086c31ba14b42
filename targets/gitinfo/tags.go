package gitinfo

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// maxTagChain bounds the peeling of tags that point at tags.
const maxTagChain = 16

// releaseTags maps each commit to the release tags (see isReleaseTag) that
// point at it, lightweight or annotated. Tags whose objects are missing, as in
// shallow clones, and tags of trees or blobs are skipped.
func releaseTags(s storer.Storer) (map[plumbing.Hash][]string, error) {
	refs, err := s.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("listing references: %w", err)
	}
	tags := map[plumbing.Hash][]string{}
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		if !ref.Name().IsTag() || ref.Type() != plumbing.HashReference {
			return nil
		}
		name := ref.Name().Short()
		if !isReleaseTag(name) {
			return nil
		}
		commit, ok, err := peel(s, ref.Hash())
		if err != nil {
			return fmt.Errorf("reading tag %s: %w", name, err)
		}
		if ok {
			tags[commit] = append(tags[commit], name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tags, nil
}

// peel follows annotated tags to the commit they name. ok is false when the
// chain ends at a missing object or at something other than a commit.
func peel(s storer.EncodedObjectStorer, h plumbing.Hash) (commit plumbing.Hash, ok bool, err error) {
	for range maxTagChain {
		obj, err := s.EncodedObject(plumbing.AnyObject, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, false, nil
		}
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			return h, true, nil
		case plumbing.TagObject:
			tag, err := object.DecodeTag(s, obj)
			if err != nil {
				return plumbing.ZeroHash, false, err
			}
			h = tag.Target
		default:
			return plumbing.ZeroHash, false, nil
		}
	}
	return plumbing.ZeroHash, false, nil
}
