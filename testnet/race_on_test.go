//go:build race

package testnet

// raceEnabled reports a build with the race detector.
const raceEnabled = true
