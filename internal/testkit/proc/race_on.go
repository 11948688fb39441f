//go:build race

package proc

// RaceEnabled is true when this program was built with -race: a test then
// builds the programs it runs with -race too, so that their races fail it.
const RaceEnabled = true
