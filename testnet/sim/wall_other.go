//go:build !unix

package sim

import "time"

// wallNow is time.Now: without a unix system clock call, wall-clock
// figures measured inside a synctest bubble are virtual time.
func wallNow() time.Time { return time.Now() }
