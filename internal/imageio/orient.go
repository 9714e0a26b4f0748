package imageio

// orient turns a w x h RGB buffer stored with EXIF orientation o into the
// upright image, returning the new buffer and size. Orientation 1 returns
// pix unchanged. The mapping follows the TIFF/EXIF definition of which
// visual side the stored row 0 and column 0 are on.
func orient(pix []uint8, w, h, o int) ([]uint8, int, int) {
	if o <= 1 || o > 8 {
		return pix, w, h
	}
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := make([]uint8, len(pix))
	// For each upright pixel (x, y), the stored pixel is (sx, sy) =
	// (x0 + x*dxx + y*dxy, y0 + x*dyx + y*dyy).
	var x0, y0, dxx, dxy, dyx, dyy int
	switch o {
	case 2: // mirrored horizontally
		x0, dxx, dyy = w-1, -1, 1
	case 3: // rotated 180
		x0, y0, dxx, dyy = w-1, h-1, -1, -1
	case 4: // mirrored vertically
		y0, dxx, dyy = h-1, 1, -1
	case 5: // transposed
		dxy, dyx = 1, 1
	case 6: // stored rotated 90 counter-clockwise: rotate 90 clockwise
		y0, dxy, dyx = h-1, 1, -1
	case 7: // transversed
		x0, y0, dxy, dyx = w-1, h-1, -1, -1
	case 8: // stored rotated 90 clockwise: rotate 90 counter-clockwise
		x0, dxy, dyx = w-1, -1, 1
	}
	step := 3 * (dxx + dyx*w) // stored offset change per upright x step
	for y := 0; y < dh; y++ {
		sx, sy := x0+y*dxy, y0+y*dyy
		s := 3 * (sy*w + sx)
		d := 3 * y * dw
		row := out[d : d+3*dw]
		for x := 0; x < len(row); x += 3 {
			row[x], row[x+1], row[x+2] = pix[s], pix[s+1], pix[s+2]
			s += step
		}
	}
	return out, dw, dh
}
