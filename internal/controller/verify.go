package controller

import (
	"context"

	"k8s.io/utils/ptr"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

// verify asks the Vantage API about a new token when spec.verifyToken is
// set, before it is written: the identity when the API accepts it, else
// the failure to record, and the token is not written. Without
// verifyToken it does nothing.
func (r *VantageCredentialReconciler) verify(ctx context.Context, f *facts, tok *oauth.Token) (*oauth.Identity, *failure) {
	if !ptr.Deref(f.cred.Spec.VerifyToken, false) {
		return nil, nil
	}
	id, err := r.Checker.Check(ctx, oauth.CheckRequest{APIURL: f.inputs.apiURL, Credential: tok.AccessToken})
	if err != nil {
		return nil, r.classifyWith(f, err, checkReason)
	}
	return id, nil
}

// checkReason maps a failed check of a token to a condition reason: the
// API refusing it is TokenRejectedByAPI, any other failure (the API away,
// or not at apiURL) ValidationFailed.
func checkReason(e *oauth.Error) string {
	if e.Code == oauth.CodeInvalidToken {
		return ReasonTokenRejectedByAPI
	}
	return ReasonValidationFailed
}
