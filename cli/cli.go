// Package cli is kadnode's command line: the daemon, its control API and the
// client commands that talk to it.
package cli

// Main runs the command line and returns the process exit status.
func Main(args []string) int {
	return 0
}
