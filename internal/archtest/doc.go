// Package archtest holds no code: its test enforces the dependency rules of
// docs/architecture.md with `go list`, so that layering does not erode.
package archtest
