//go:build unix

package sim

import (
	"syscall"
	"time"
)

// wallNow is the real time of day. Inside a synctest bubble time.Now is
// the bubble's virtual clock; the build and run costs the simulator
// reports are wall-clock time, so they read the system clock directly.
func wallNow() time.Time {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return time.Now()
	}
	return time.Unix(tv.Unix())
}
