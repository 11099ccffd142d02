// Package refresh holds the timing arithmetic of token renewal: when a token
// is due for refresh, how long to back off after a failure, and how slowly to
// retry what cannot succeed until an input changes. It is pure: every
// function takes the current time as an argument, so callers inject a
// clock and tests use fixed instants.
package refresh
