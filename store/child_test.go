package store

import (
	"fmt"
	"os"
)

// runChild runs a role of the re-executed test binary and returns its exit
// status. The store directory is in KADNODE_STORE_TEST_DIR.
func runChild(role string) int {
	dir := os.Getenv("KADNODE_STORE_TEST_DIR")
	switch role {
	default:
		fmt.Fprintf(os.Stderr, "unknown child role %q for %s\n", role, dir)
		return 2
	}
}
