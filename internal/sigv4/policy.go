package sigv4

import (
	"crypto/hmac"
	"encoding/hex"
)

// VerifyPolicy checks the signature of an S3 POST upload: signature is the
// form's x-amz-signature, policy its (base64) policy as sent, c its parsed
// x-amz-credential. Reading the policy's conditions is the caller's.
// Refusals are *Error, worded as S3 words them.
func (v *Verifier) VerifyPolicy(c Credential, policy, signature string, s Service) error {
	secret, rerr := v.s3Secret(c, s)
	if rerr != nil {
		return rerr
	}
	want := hex.EncodeToString(hmacSHA256(signingKey(secret, c), policy))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return refuse(ErrSignatureMismatch, s3SignatureMismatch)
	}
	return nil
}
