// Package plugin is the kubectl vantage plugin: status, refresh and whoami
// for VantageCredentials and ClusterVantageCredentials.
//
// cmd/kubectl-vantage only calls NewCommand; everything a test needs to
// replace (the Kubernetes client, the clock, the Vantage API checker) comes
// in through Deps, so each command runs against a fake client with a fixed
// clock and its output is compared with golden files.
//
// Nothing here prints a token or a secret value: the plugin reads the
// target Secret only to list its keys and decode the token's claims, and
// every output path is covered by the sentinel test (leak_test.go).
package plugin
