//go:build race

package control

// raceDetector: the race detector's shadow memory makes RSS meaningless
// for leak checks.
const raceDetector = true
