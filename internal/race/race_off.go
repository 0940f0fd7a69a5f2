//go:build !race

// Package race tells tests whether the race detector is built in, for the
// few that must act on it: a memory bound it distorts, a binary built to
// match, a test it cannot run.
package race

// Enabled reports a build with the race detector.
const Enabled = false
