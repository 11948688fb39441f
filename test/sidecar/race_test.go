//go:build race

package sidecare2e

// raceEnabled is true when the tests run with -race: the binary under test
// is then built with -race as well.
const raceEnabled = true
