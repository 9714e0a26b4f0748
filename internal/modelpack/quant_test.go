package modelpack

import "testing"

func TestInt8Of(t *testing.T) {
	t.Parallel()
	f := centernet()
	q := int8Of(f, "", "")
	if q.Name != "centernet-int8" || q.File != "models/centernet.int8.onnx" || q.Source.Quantize == nil || q.Source.Quantize.Float != "centernet" || !q.Source.Quantize.ReduceRange {
		t.Errorf("int8Of(centernet) = %+v", q)
	}
	if !q.Converted() || q.Version() != f.Version() || q.Source.Package != f.Source.Package {
		t.Errorf("int8Of(centernet): converted %v, version %q, want the float's %q", q.Converted(), q.Version(), f.Version())
	}
	if f.Source.Quantize != nil {
		t.Error("int8Of changed the float asset")
	}
	for _, name := range []string{"centernet", "blazeface", "blazeface-front", "faceres", "emotion", "ppocr-det", "ppocr-rec", "ppocr-cls", "nsfw"} {
		r, err := quantRanges(name)
		if err != nil || len(r) == 0 {
			t.Errorf("quantRanges(%s): %d ranges, %v", name, len(r), err)
		}
	}
}
