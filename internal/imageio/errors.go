package imageio

import (
	"errors"
	"fmt"
)

// Code classifies an image-level failure. The engines translate it to
// Rekognition's error code at their edge (vision.ImageError).
type Code int

// Image-level failure codes.
const (
	// CodeInvalidFormat: empty, truncated, corrupt, not an image, or a
	// format that is not supported.
	CodeInvalidFormat Code = iota + 1
	// CodeTooLarge: bytes, pixels or a side over Limits.
	CodeTooLarge
	// CodeTooSmall: a side under Limits.MinSide.
	CodeTooSmall
)

func (c Code) String() string {
	switch c {
	case CodeInvalidFormat:
		return "invalid image format"
	case CodeTooLarge:
		return "image too large"
	case CodeTooSmall:
		return "image too small"
	}
	return fmt.Sprintf("imageio.Code(%d)", int(c))
}

// Error is a failure about the image itself. It is not retryable: the
// same bytes give the same error. Message says what is wrong with the
// image in words for the user; Err, when set, is the decoder's own error.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code.String() + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code.String() + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error with a formatted message.
func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the *Error in err's chain, or 0.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
