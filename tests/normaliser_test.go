package tests

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// normaliser rewrites etcdctl output so that two runs of the same commands
// against two different etcd clusters (one direct, one through herald) can be
// compared: it replaces what legitimately differs between clusters (revision
// numbers, cluster and member ids, raft terms, lease ids, addresses, log
// timestamps, pointers) by placeholders, and nothing else.
//
// Ids are not erased but numbered in order of first appearance, per kind, over
// the whole session: "lease A … lease A" becomes "<LEASE1> … <LEASE1>" while
// "lease A … lease B" becomes "<LEASE1> … <LEASE2>". So a session that gets a
// wrong revision or the wrong lease back still differs after normalising. Zero
// (no lease, no revision) stays 0.
type normaliser struct {
	revMap func(uint64) uint64       // nil: revisions as they are
	ids    map[string]map[uint64]int // kind → value → placeholder number
}

func newNormaliser() *normaliser {
	return &normaliser{ids: map[string]map[uint64]int{}}
}

// mapRevisions makes the normaliser map every revision with f before
// numbering it.
func (n *normaliser) mapRevisions(f func(uint64) uint64) { n.revMap = f }

// normaliseRule finds numbers of one kind: group 1 of re is the number, in
// base 10 or 16. An empty kind erases the number without numbering it.
type normaliseRule struct {
	re   *regexp.Regexp
	kind string
	base int
}

var normaliseRules = []normaliseRule{
	// JSON output (-w json), JSON log lines and -w fields ("Name" : N).
	{regexp.MustCompile(`"(?:revision|create_revision|mod_revision|compact_revision|Revision|CreateRevision|ModRevision|CompactRevision)" ?: ?(\d+)`), "REV", 10},
	{regexp.MustCompile(`"(?:cluster_id|ClusterID)" ?: ?(\d+)`), "CLUSTER", 10},
	{regexp.MustCompile(`"(?:member_id|MemberID)" ?: ?(\d+)`), "MEMBER", 10},
	{regexp.MustCompile(`"(?:raft_term|RaftTerm)" ?: ?(\d+)`), "TERM", 10},
	{regexp.MustCompile(`"(?:lease|ID|id|Lease)" ?: ?(\d+)`), "LEASE", 10},
	// Simple output.
	{regexp.MustCompile(`compacted revision (\d+)`), "REV", 10},
	{regexp.MustCompile(`progress notify: (\d+)`), "REV", 10},
	// Lease ids print as %016x in lease commands and as %x in election and
	// lock keys ("name/<lease>"): a maximal run of 10 to 16 hex digits.
	{regexp.MustCompile(`(?:^|[^0-9a-f])([0-9a-f]{10,16})(?:$|[^0-9a-f])`), "LEASE", 16},
	// Addresses differ per cluster: a client's own port means nothing, the
	// servers' are numbered.
	{regexp.MustCompile(`LocalAddr: '127\.0\.0\.1:(\d+)'`), "", 10},
	{regexp.MustCompile(`127\.0\.0\.1:(\d+)`), "PORT", 10},
}

var (
	logTimestamp = regexp.MustCompile(`"ts":"[^"]*"`)
	goPointer    = regexp.MustCompile(`0x[0-9a-f]{6,}`)
	ttlRemaining = regexp.MustCompile(`remaining\(\d+s\)|"ttl":\d+`)
	// etcd lists a lease's keys in Go map order (lease.Lease.Keys), so
	// the order means nothing; the set does.
	attachedKeys = regexp.MustCompile(`attached keys\(\[([^\]]*)\]\)`)
	jsonKeys     = regexp.MustCompile(`"keys":\[([^\]]*)\]`)
)

// sortList sorts the sep-separated items of group 1 of re's matches.
func sortList(s string, re *regexp.Regexp, sep string) string {
	return re.ReplaceAllStringFunc(s, func(m string) string {
		g := re.FindStringSubmatchIndex(m)
		items := strings.Split(m[g[2]:g[3]], sep)
		sort.Strings(items)
		return m[:g[2]] + strings.Join(items, sep) + m[g[3]:]
	})
}

// idMatch is one number to replace, at s[start:end].
type idMatch struct {
	start, end int
	kind       string
	base       int
}

func (n *normaliser) normalise(s string) string {
	s = logTimestamp.ReplaceAllString(s, `"ts":"<TS>"`)
	s = goPointer.ReplaceAllString(s, `<PTR>`)
	// The remaining TTL depends on when the command ran, not on the server.
	s = ttlRemaining.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "remaining") {
			return "remaining(<TTL>s)"
		}
		return `"ttl":<TTL>`
	})
	s = sortList(s, attachedKeys, " ")
	s = sortList(s, jsonKeys, ",")
	var matches []idMatch
	for _, r := range normaliseRules {
		// Search from every position so that two ids one separator apart
		// both match.
		for pos := 0; pos < len(s); {
			loc := r.re.FindStringSubmatchIndex(s[pos:])
			if loc == nil {
				break
			}
			matches = append(matches, idMatch{pos + loc[2], pos + loc[3], r.kind, r.base})
			pos += loc[3]
		}
	}
	// Number ids in order of appearance; where two rules match the same
	// text, the first rule listed wins.
	sort.SliceStable(matches, func(i, j int) bool { return matches[i].start < matches[j].start })
	var b strings.Builder
	last := 0
	for _, m := range matches {
		if m.start < last {
			continue
		}
		b.WriteString(s[last:m.start])
		b.WriteString(n.placeholder(m.kind, s[m.start:m.end], m.base))
		last = m.end
	}
	b.WriteString(s[last:])
	return b.String()
}

func (n *normaliser) placeholder(kind, num string, base int) string {
	if kind == "" {
		return "<ANY>"
	}
	v, err := strconv.ParseUint(num, base, 64)
	if err != nil {
		return num
	}
	if kind == "REV" && n.revMap != nil {
		v = n.revMap(v)
	}
	if v == 0 {
		return num
	}
	m := n.ids[kind]
	if m == nil {
		m = map[uint64]int{}
		n.ids[kind] = m
	}
	id, ok := m[v]
	if !ok {
		id = len(m) + 1
		m[v] = id
	}
	return fmt.Sprintf("<%s%d>", kind, id)
}
