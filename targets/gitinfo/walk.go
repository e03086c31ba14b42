package gitinfo

import (
	"container/heap"
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// slop is how many commits the distance walk goes on after every queued
// commit is known to be reachable from the tag, to tolerate clock skew, as
// git's revision walk does.
const slop = 5

// graph walks the commit graph in committer-time order, newest first, as
// git describe does. Commits listed in .git/shallow have no parents, and
// parents whose objects are missing are skipped.
type graph struct {
	s       storer.EncodedObjectStorer
	shallow map[plumbing.Hash]bool
	nodes   map[plumbing.Hash]*node
}

type node struct {
	when    int64 // committer time, Unix seconds
	parents []plumbing.Hash
}

func newGraph(s storer.EncodedObjectStorer, shallow []plumbing.Hash) *graph {
	g := &graph{s: s, shallow: map[plumbing.Hash]bool{}, nodes: map[plumbing.Hash]*node{}}
	for _, h := range shallow {
		g.shallow[h] = true
	}
	return g
}

// node loads a commit; ok is false if its object is missing.
func (g *graph) node(h plumbing.Hash) (n *node, ok bool, err error) {
	if n, ok := g.nodes[h]; ok {
		return n, true, nil
	}
	c, err := object.GetCommit(g.s, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	n = &node{when: c.Committer.When.Unix()}
	if !g.shallow[h] {
		n.parents = c.ParentHashes
	}
	g.nodes[h] = n
	return n, true, nil
}

// push queues h unless its object is missing.
func (g *graph) push(q *queue, h plumbing.Hash) error {
	n, ok, err := g.node(h)
	if err != nil || !ok {
		return err
	}
	q.seq++
	heap.Push(q, item{hash: h, when: n.when, seq: q.seq})
	return nil
}

// nearestTag walks from head, newest commit first, to the first commit that
// has a release tag, and returns the highest of its tags. ok is false when no
// tagged commit is reachable.
func (g *graph) nearestTag(head plumbing.Hash, tags map[plumbing.Hash][]string) (tag string, at plumbing.Hash, ok bool, err error) {
	q := &queue{}
	seen := map[plumbing.Hash]bool{head: true}
	if err := g.push(q, head); err != nil {
		return "", plumbing.ZeroHash, false, err
	}
	for q.Len() > 0 {
		it := heap.Pop(q).(item)
		if t := tags[it.hash]; len(t) > 0 {
			return highest(t), it.hash, true, nil
		}
		for _, p := range g.nodes[it.hash].parents {
			if seen[p] {
				continue
			}
			seen[p] = true
			if err := g.push(q, p); err != nil {
				return "", plumbing.ZeroHash, false, err
			}
		}
	}
	return "", plumbing.ZeroHash, false, nil
}

// distance counts the commits reachable from head but not from base, as
// `git rev-list --count base..head` does. It paints both sides at once and
// stops once only commits reachable from base remain, so it reads the commits
// between the two and not the history below base.
func (g *graph) distance(head, base plumbing.Hash) (int, error) {
	const fromHead, fromBase = 1, 2
	q := &queue{}
	flags := map[plumbing.Hash]uint8{}
	mark := func(h plumbing.Hash, f uint8) error {
		if flags[h]&f == f {
			return nil
		}
		flags[h] |= f
		return g.push(q, h)
	}
	if err := mark(head, fromHead); err != nil {
		return 0, err
	}
	if err := mark(base, fromBase); err != nil {
		return 0, err
	}
	left := slop
	for q.Len() > 0 {
		if q.onlyFlagged(flags, fromBase) {
			if left == 0 {
				break
			}
			left--
		}
		it := heap.Pop(q).(item)
		f := flags[it.hash]
		for _, p := range g.nodes[it.hash].parents {
			if err := mark(p, f); err != nil {
				return 0, err
			}
		}
	}
	n := 0
	for _, f := range flags {
		if f == fromHead {
			n++
		}
	}
	return n, nil
}

type item struct {
	hash plumbing.Hash
	when int64
	seq  int // insertion order breaks ties, first in first out
}

// queue is a max-heap of commits by committer time.
type queue struct {
	items []item
	seq   int
}

func (q *queue) Len() int { return len(q.items) }
func (q *queue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if a.when != b.when {
		return a.when > b.when
	}
	return a.seq < b.seq
}
func (q *queue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *queue) Push(x any)    { q.items = append(q.items, x.(item)) }
func (q *queue) Pop() any {
	it := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return it
}

// onlyFlagged reports whether every queued commit carries flag f.
func (q *queue) onlyFlagged(flags map[plumbing.Hash]uint8, f uint8) bool {
	for _, it := range q.items {
		if flags[it.hash]&f == 0 {
			return false
		}
	}
	return true
}
