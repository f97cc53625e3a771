// Command testfmt runs `go test -json` and prints its progress as tests
// finish, for `make test`: a line for each package, a line for each test
// that failed (with its output) or took at least -slow, a line every -every
// naming the tests still running, and at the end the slowest tests and the
// totals. It exits with the command's status, so a failure fails the make
// target even where the formatter missed it.
//
//	testfmt [-slow 5s] [-every 1m] [-json file] go test -json ./...
//
// With -json, go test streams the events of every package as they come,
// even when it runs several packages at once.
//
// It is a tool of the test suite and imports nothing of herald's.
package main
