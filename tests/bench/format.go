package bench

import (
	"fmt"
	"time"
)

// The formats of table cells.

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func rate(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func cores(v float64) string { return fmt.Sprintf("%.3f", v) }

// ratio is a/b as "×N", or "—" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("×%.2f", a/b)
}

// fewer is how many times smaller v is than ref, as "N×" ("∞" when v is zero
// and ref is not; "—" without a reference).
func fewer(ref, v float64) string {
	switch {
	case ref == 0:
		return "—"
	case v == 0:
		return "∞"
	case ref/v >= 10:
		return fmt.Sprintf("%.0f×", ref/v)
	default:
		return fmt.Sprintf("%.2f×", ref/v)
	}
}
