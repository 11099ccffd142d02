// Package vantagetest runs vantage-credential-operator inside your own
// envtest suite, so that software reading the operator's Secrets is tested
// against the real reconciler instead of a hand-made Secret:
//
//   - CRDs gives the operator's CustomResourceDefinitions for
//     envtest.Environment.CRDs, embedded in this package;
//   - NewTokenServer starts a fake Vantage token server on 127.0.0.1;
//   - ManagerOptions and Setup run the reconcilers in your manager, sending
//     token requests to that server;
//   - ServiceAccountSecret and Credential build the objects a test creates,
//     and WaitReady waits for a credential's first token;
//   - AddServiceAccountClient, TokenSourceServiceAccount and
//     ServiceAccountCredential do the same for a secretless credential,
//     which authenticates with a ServiceAccount's tokens.
//
// See docs/testkit.md and Example. Nothing else of the operator is public.
package vantagetest
