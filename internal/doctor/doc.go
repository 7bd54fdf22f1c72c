// Package doctor holds the checks behind `wharf doctor`: each reads a setup
// the way the server would and explains what is wrong with a one-line fix.
// Checks return results; they never change anything.
package doctor
