package heapstat

import "runtime"

// Live returns the heap bytes in use after two garbage collections (the
// second frees what the first only finalized), so that the difference of
// two readings is what the code between them keeps alive.
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
