package campaign

import "sync"

// holding is the set of deliveries this dispatcher holds: claimed, and
// neither released nor with their result written. It is the one source of
// both the dispatcher's taken slots and what Reap must leave alone. A claim
// of this process that is `sending` with its lease run out and is not held
// here was lost on its way back (the claim committed, its rows never
// arrived): no request was ever made for it, so Reap gives it back.
//
// An id enters when its claim returns, before any request for it can start,
// and leaves only once its result is written or its release committed; the
// loop that claims is also the one that reaps, so no reap runs between a
// claim's return and its ids entering.
type holding struct {
	mu  sync.Mutex
	ids map[int64]int // claims per id: a retry may be claimed before an earlier attempt's result is written
	n   int
}

// hold adds the deliveries of a claim that just returned.
func (h *holding) hold(ds []Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ids == nil {
		h.ids = map[int64]int{}
	}
	for _, d := range ds {
		h.ids[d.ID]++
	}
	h.n += len(ds)
}

// drop removes deliveries whose result was written or whose release was
// committed.
func (h *holding) drop(ds []Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range ds {
		if h.ids[d.ID] == 0 {
			continue
		}
		if h.ids[d.ID]--; h.ids[d.ID] == 0 {
			delete(h.ids, d.ID)
		}
		h.n--
	}
}

// len is how many claims are held: the dispatcher's taken slots.
func (h *holding) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// list returns the ids held now, never nil.
func (h *holding) list() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]int64, 0, len(h.ids))
	for id := range h.ids {
		out = append(out, id)
	}
	return out
}
