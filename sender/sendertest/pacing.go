package sendertest

import (
	"fmt"
	"time"
)

// CrowdedWindows checks the spacing of one account's sends where it counts,
// at the API: given the arrival times of its requests in order, it returns
// a line for each 1-second window that holds more than burst + perSecond of
// them (SPEC §6), or nil. Each window is 1s − tolerance long, allowing for
// the jitter of loopback requests.
func CrowdedWindows(arrivals []time.Time, burst int, perSecond float64, tolerance time.Duration) []string {
	limit := burst + int(perSecond)
	var out []string
	for i, start := range arrivals {
		end := start.Add(time.Second - tolerance)
		n := 0
		for _, t := range arrivals[i:] {
			if !t.After(end) {
				n++
			}
		}
		if n > limit {
			out = append(out, fmt.Sprintf("%d sends within 1s from send %d (limit %d)", n, i+1, limit))
		}
	}
	return out
}
