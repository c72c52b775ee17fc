package rating

import (
	"errors"
	"math"
)

// trie is a decimal digit trie stored as one flat slice so that a deck of
// hundreds of thousands of prefixes is a single allocation the GC never has
// to traverse (no pointers), and a lookup is a tight loop of index loads.
type trie struct {
	nodes []trieNode
}

// trieNode uses 0 as "absent" for both fields so freshly appended nodes need
// no initialisation: node 0 is the root, which is never anyone's child, and
// rate holds the rate index plus one.
type trieNode struct {
	child [10]int32
	rate  int32
	// n is the number of rows of the prefix's group in a deck with
	// several rows per prefix (stored from rate-1 on); 0 in simple decks.
	n int32
}

func errTrieFull() error { return errors.New("too many prefixes for one deck") }

func newTrie(sizeHint int) trie {
	nodes := make([]trieNode, 1, max(1, sizeHint))
	return trie{nodes: nodes}
}

// insert maps digits (which must be non-empty and all '0'..'9') to rate.
// If digits is already present it returns the existing rate index and
// dup=true without changing the trie.
func (t *trie) insert(digits string, rate int) (existing int, dup bool, err error) {
	// int32 indexes halve the node size; 2^31 nodes is far beyond any deck.
	if rate < 0 || rate >= math.MaxInt32 {
		return 0, false, errTrieFull()
	}
	n := int32(0)
	for i := 0; i < len(digits); i++ {
		d := digits[i] - '0'
		c := t.nodes[n].child[d]
		if c == 0 {
			if len(t.nodes) >= math.MaxInt32 {
				return 0, false, errTrieFull()
			}
			c = int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{})
			t.nodes[n].child[d] = c
		}
		n = c
	}
	if r := t.nodes[n].rate; r != 0 {
		return int(r - 1), true, nil
	}
	t.nodes[n].rate = int32(rate + 1)
	return 0, false, nil
}

// longest returns the index of the rate with the longest prefix of number,
// reading digits until the first non-digit, or -1 if none matches.
func (t *trie) longest(number string) int {
	best := int32(0)
	n := int32(0)
	for i := 0; i < len(number); i++ {
		d := number[i] - '0'
		if d > 9 { // also catches bytes below '0' via wrap-around
			break
		}
		n = t.nodes[n].child[d]
		if n == 0 {
			break
		}
		if r := t.nodes[n].rate; r != 0 {
			best = r
		}
	}
	return int(best) - 1
}

// compact drops the spare capacity left by append growth; a loaded deck lives
// long and several decks may be resident at once.
func (t *trie) compact() {
	if cap(t.nodes) > len(t.nodes) {
		t.nodes = append([]trieNode(nil), t.nodes...)
	}
}
