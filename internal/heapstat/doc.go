// Package heapstat reads the Go heap the way herald's memory benchmarks
// state it: the bytes still allocated once garbage collection has run.
package heapstat
