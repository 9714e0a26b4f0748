//go:build !cgo || noheif

package imageio

func decodeHEIF(data []byte, format string, lim Limits) (*Image, error) {
	return nil, heifMissing(format)
}

func heifSize(data []byte, format string) (w, h int, err error) {
	return 0, 0, heifMissing(format)
}

func heifMissing(format string) error {
	return errorf(CodeInvalidFormat,
		"%s needs libheif, and this binary was built without cgo", formatName(format))
}
