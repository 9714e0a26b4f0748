package vision_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/vision"
)

// TestImageError: each imageio failure code reaches the contract as
// Rekognition's code with imageio's message and cause; other errors pass
// through unchanged.
func TestImageError(t *testing.T) {
	t.Parallel()
	cause := errors.New("libjpeg: premature end")
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"format", &imageio.Error{Code: imageio.CodeInvalidFormat, Message: "truncated JPEG", Err: cause}, vision.CodeInvalidImageFormat, "InvalidImageFormatException: truncated JPEG: libjpeg: premature end"},
		{"too large", fmt.Errorf("decode: %w", &imageio.Error{Code: imageio.CodeTooLarge, Message: "image is 1 bytes"}), vision.CodeImageTooLarge, "ImageTooLargeException: image is 1 bytes"},
		{"too small", &imageio.Error{Code: imageio.CodeTooSmall, Message: "both sides must be at least 80"}, vision.CodeInvalidParameter, "InvalidParameterException: both sides must be at least 80"},
		{"not an image error", context.Canceled, "", "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := vision.ImageError(tt.err)
			if vision.CodeOf(got) != tt.code || got.Error() != tt.msg {
				t.Errorf("ImageError(%v) = %q (code %q), want %q (code %q)", tt.err, got, vision.CodeOf(got), tt.msg, tt.code)
			}
			if tt.code == "" && !errors.Is(got, tt.err) {
				t.Errorf("ImageError changed a non-image error: %v", got)
			}
			if tt.name == "format" && !errors.Is(got, cause) {
				t.Error("the decoder's cause is lost")
			}
		})
	}
}
