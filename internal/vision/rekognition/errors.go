package rekognition

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/vision"
)

// imageCodes are Rekognition's error codes that depend on the image itself:
// retrying the same bytes gives the same answer.
var imageCodes = map[string]bool{
	vision.CodeInvalidImageFormat: true,
	vision.CodeImageTooLarge:      true,
	vision.CodeInvalidParameter:   true,
	vision.CodeInvalidS3Object:    true,
}

// classify turns an SDK error into a *vision.Error when Rekognition rejected
// the image, keeping the SDK error as the cause. Other errors (throttling
// after the retries ran out, InternalServerError, AccessDenied, network) are
// returned unchanged: they are not the image's fault.
func classify(err error, name string) error {
	var ve *vision.Error
	if errors.As(err, &ve) {
		return err
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && imageCodes[ae.ErrorCode()] {
		msg := ae.ErrorMessage()
		if msg == "" {
			msg = "Amazon Rekognition rejected the image"
		}
		if name != "" {
			msg = name + ": " + msg
		}
		return &vision.Error{Code: ae.ErrorCode(), Message: msg, Err: err}
	}
	return err
}
