package tests

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// alertOperands returns the parts of an alerting rule's expression that
// must return data for the rule to be able to fire: the expression with
// its comparisons removed. "a > 0.9 * b" gives a and 0.9 * b; "x > 0 and
// y > 60" gives x and y; a number alone ("0") is no operand. An expression
// it cannot take apart (no comparison at its top level, or a chain of
// them) is an error naming it: such a rule needs this function extended,
// not skipped.
func alertOperands(expr string) ([]string, error) {
	e := unwrapParens(strings.TrimSpace(expr))
	if parts := splitTopLevel(e, setOperator, true); len(parts) > 1 {
		var out []string
		for _, p := range parts {
			ops, err := alertOperands(stripModifiers(p))
			if err != nil {
				return nil, err
			}
			out = append(out, ops...)
		}
		return out, nil
	}
	parts := splitTopLevel(e, comparison, false)
	switch {
	case len(parts) == 1:
		return nil, fmt.Errorf("alert expression %q: no comparison at its top level to remove", expr)
	case len(parts) > 2:
		return nil, fmt.Errorf("alert expression %q: a chain of comparisons", expr)
	}
	var out []string
	for _, p := range parts {
		p = unwrapParens(strings.TrimSpace(stripModifiers(p)))
		if _, err := strconv.ParseFloat(p, 64); err != nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("alert expression %q compares numbers only", expr)
	}
	return out, nil
}

var (
	// setOperator and comparison match PromQL's binary operators of
	// those kinds at the start of a string.
	setOperator = regexp.MustCompile(`^(and|or|unless)\b`)
	comparison  = regexp.MustCompile(`^(==|!=|>=|<=|>|<)`)
	// modifiers may follow a binary operator: bool, on/ignoring(labels),
	// group_left/group_right(labels).
	modifiers = regexp.MustCompile(`^\s*(bool\b|(on|ignoring|group_left|group_right)\s*\([^)]*\))\s*`)
)

// stripModifiers removes the binary operator's modifiers from the start of
// its right-hand operand.
func stripModifiers(s string) string {
	for {
		loc := modifiers.FindStringIndex(s)
		if loc == nil {
			return s
		}
		s = s[loc[1]:]
	}
}

// splitTopLevel splits s at every match of op outside brackets, braces,
// parentheses and strings. With word, op must start a word: a set operator
// is not the end of a metric name such as "errors_or".
func splitTopLevel(s string, op *regexp.Regexp, word bool) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isQuote(c):
			i = stringEnd(s, i)
			continue
		case c == '(' || c == '[' || c == '{':
			depth++
			continue
		case c == ')' || c == ']' || c == '}':
			depth--
			continue
		}
		if depth != 0 || (word && i > 0 && isIdentChar(s[i-1])) {
			continue
		}
		if loc := op.FindStringIndex(s[i:]); loc != nil {
			parts = append(parts, s[start:i])
			start = i + loc[1]
			i = start - 1
		}
	}
	return append(parts, s[start:])
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// stringEnd returns the index of the quote that closes the string literal
// opened at s[open] (len(s) if none does); a backslash escapes the next
// byte, except in a raw (backquoted) string.
func stringEnd(s string, open int) int {
	q := s[open]
	for i := open + 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			return i
		}
	}
	return len(s)
}

func isIdentChar(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// unwrapParens removes parentheses that enclose all of s.
func unwrapParens(s string) string {
	for len(s) > 1 && s[0] == '(' && s[len(s)-1] == ')' {
		inner := s[1 : len(s)-1]
		if !balanced(inner) {
			return s
		}
		s = strings.TrimSpace(inner)
	}
	return s
}

// balanced reports whether s never closes more parentheses than it opened
// (outside strings), so that "(a) > (b)" is not unwrapped into "a) > (b".
func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isQuote(c):
			i = stringEnd(s, i)
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}
