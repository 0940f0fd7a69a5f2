//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package cli

import "os"

// fileIsTerminal is false where we cannot ask: no progress line there.
func fileIsTerminal(*os.File) bool { return false }
