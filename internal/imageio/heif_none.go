//go:build !cgo || noheif

package imageio

import "github.com/imagerec/imagerec/internal/vision"

func decodeHEIF(data []byte, format string, lim Limits) (*Image, error) {
	return nil, vision.Errorf(vision.CodeInvalidImageFormat,
		"%s needs libheif, and this binary was built without cgo", formatName(format))
}
