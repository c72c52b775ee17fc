package mediatrack

import (
	"cmp"
	"slices"
)

// sweep does the time-driven work, once per second of capture time: the
// media table's expiry, the end of streams that went quiet (Idle for any
// stream, EndLinger after its call's BYE), and a Touch of the media entry
// of every mapped stream that had packets in the last second.
//
// It visits every stream: at 100,000 streams that is some 100,000 cache
// lines a second of capture time, against the 5 million packets a second
// those streams carry. In exchange a stream needs no list links (8 bytes
// each) and no per-call list of streams (4 more).
func (t *Tracker) sweep() {
	t.sweptUS = t.nowUS
	t.table.Advance(t.nowUS)
	now := t.msOf(t.nowUS)
	idle, linger := int32(t.idleMS), int32(t.lingerMS)
	for c := range t.chunks {
		chunk := t.chunks[c]
		for j := range chunk {
			r := &chunk[j]
			if r.flags&flagUsed == 0 {
				continue
			}
			i := int32(c<<chunkBits | j)
			quiet := int32(now - r.lastMS)
			switch {
			case quiet >= idle:
				_ = t.end(i, EndIdle)
			case r.call < 0:
			case quiet >= linger && t.calls[r.call].ended() && int32(now-t.calls[r.call].byeMS) >= linger:
				_ = t.end(i, EndBye)
			case quiet < 1000:
				t.touch(r)
			}
		}
	}
}

// touch tells the media table that a mapped stream still carries media,
// so that a call longer than the table's TTL, whose SDP nobody refreshes,
// stays mapped (a new SSRC in it still finds its Call-ID) and a full table
// evicts idle entries first. The address may have moved to another call
// since: only the stream's own call's entry is touched.
func (t *Tracker) touch(r *stream) {
	src, dst := t.addrs(r)
	if e, _, _, ok := t.table.LookupPair(src, dst); ok && e.CallID() == t.calls[r.call].id {
		t.table.Touch(e, t.nowUS)
	}
}

// Eviction at MaxStreams takes the least recently active stream. Without
// an LRU list (see sweep) finding it is a scan, so evict scans for a batch
// of candidates, the oldest quarter of the streams, and ends them oldest
// first as the cap demands. The order holds between scans: all streams age
// alike, so a candidate stays older than every stream that was not one,
// unless it has had a packet since, and then it is skipped.
const (
	histBuckets = 1024
	maxBatch    = 1 << 15
)

// candidate is an eviction candidate and its last packet's time.
type candidate struct {
	i      int32
	lastMS uint32
}

// evict ends the least recently active stream, to within the resolution
// of refill's histogram for the youngest candidates of a batch.
func (t *Tracker) evict() {
	now := t.msOf(t.nowUS)
	for {
		if t.candNext >= len(t.cand) {
			t.refill(now)
		}
		c := t.cand[t.candNext]
		t.candNext++
		if r := t.rec(c.i); r.flags&flagUsed != 0 && r.lastMS == c.lastMS {
			_ = t.end(c.i, EndCap)
			return
		}
	}
}

func age(now, lastMS uint32) uint32 { return uint32(max(int32(now-lastMS), 0)) }

// refill collects the next batch of eviction candidates, oldest first, in
// three passes: the oldest age, a histogram of ages, and the collection.
func (t *Tracker) refill(now uint32) {
	batch := min(max(t.n/4, 1), maxBatch)
	var oldest uint32
	t.each(func(r *stream, _ int32) { oldest = max(oldest, age(now, r.lastMS)) })
	span := uint64(oldest) + 1
	bucket := func(a uint32) int { return int(uint64(a) * histBuckets / span) }
	clear(t.hist[:])
	t.each(func(r *stream, _ int32) { t.hist[bucket(age(now, r.lastMS))]++ })
	// All of the buckets above b, and of b as many as fill the batch.
	b, above := histBuckets-1, 0
	for ; b > 0 && above+int(t.hist[b]) < batch; b-- {
		above += int(t.hist[b])
	}
	fromB := batch - above
	t.cand, t.candNext = t.cand[:0], 0
	t.each(func(r *stream, i int32) {
		switch bk := bucket(age(now, r.lastMS)); {
		case bk > b:
			t.cand = append(t.cand, candidate{i, r.lastMS})
		case bk == b && fromB > 0:
			t.cand = append(t.cand, candidate{i, r.lastMS})
			fromB--
		}
	})
	slices.SortFunc(t.cand, func(x, y candidate) int { return cmp.Compare(age(now, y.lastMS), age(now, x.lastMS)) })
}

// each calls f for every stream in use.
func (t *Tracker) each(f func(r *stream, i int32)) {
	for c := range t.chunks {
		chunk := t.chunks[c]
		for j := range chunk {
			if r := &chunk[j]; r.flags&flagUsed != 0 {
				f(r, int32(c<<chunkBits|j))
			}
		}
	}
}
