// Package lograte limits repeated log lines: a line that input from the
// network can trigger (a rejected gossip frame, a packet sealed with
// another key) is logged once per interval per kind, with the count of
// those left out since, so that garbage input cannot flood the log. The
// metrics still count every one.
package lograte
