//go:build race

package hostile

// raceEnabled reports a build with the race detector.
const raceEnabled = true
