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
	if !ptr.Deref(f.cred.GetSpec().VerifyToken, false) {
		return nil, nil
	}
	id, err := r.Checker.Check(ctx, oauth.CheckRequest{APIURL: f.inputs.apiURL, Credential: tok.AccessToken, Caller: f.cred.GetNamespace() + "/" + f.cred.GetName()})
	if err != nil {
		return nil, r.classifyWith(f, err, checkReason(ReasonTokenRejectedByAPI))
	}
	return id, nil
}

// checkReason maps a failed check with the Vantage API to a condition
// reason: the API refusing the credential is rejected (TokenRejectedByAPI
// for a new token, APIKeyRejected for an API key), any other failure (the
// API away, or not at apiURL) ValidationFailed.
func checkReason(rejected string) func(*oauth.Error) string {
	return func(e *oauth.Error) string {
		if e.Code == oauth.CodeInvalidToken {
			return rejected
		}
		return ReasonValidationFailed
	}
}
