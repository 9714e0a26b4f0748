package rekognition

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"

	"github.com/imagerec/imagerec/internal/vision"
)

// EngineName is the Engine.Name of results produced here.
const EngineName = "amazon-rekognition"

// API is the part of *rekognition.Client the engine calls.
type API interface {
	DetectLabels(ctx context.Context, in *awsrek.DetectLabelsInput, optFns ...func(*awsrek.Options)) (*awsrek.DetectLabelsOutput, error)
	DetectFaces(ctx context.Context, in *awsrek.DetectFacesInput, optFns ...func(*awsrek.Options)) (*awsrek.DetectFacesOutput, error)
	DetectText(ctx context.Context, in *awsrek.DetectTextInput, optFns ...func(*awsrek.Options)) (*awsrek.DetectTextOutput, error)
	DetectModerationLabels(ctx context.Context, in *awsrek.DetectModerationLabelsInput, optFns ...func(*awsrek.Options)) (*awsrek.DetectModerationLabelsOutput, error)
	// For the pipeline's face collection search (faces.go).
	SearchFacesByImage(ctx context.Context, in *awsrek.SearchFacesByImageInput, optFns ...func(*awsrek.Options)) (*awsrek.SearchFacesByImageOutput, error)
	IndexFaces(ctx context.Context, in *awsrek.IndexFacesInput, optFns ...func(*awsrek.Options)) (*awsrek.IndexFacesOutput, error)
}

var _ API = (*awsrek.Client)(nil)

// Options configure the engine. The zero value is usable.
type Options struct {
	// Logger receives one debug line per image; nil discards.
	Logger *slog.Logger
	// MaxAttempts per API call, first attempt included (default 8).
	MaxAttempts int
	// BaseDelay is the first retry's maximum delay (default 250ms); the cap
	// doubles each attempt up to MaxBackoff (default 20s), and the delay is
	// drawn uniformly below the cap (full jitter).
	BaseDelay  time.Duration
	MaxBackoff time.Duration
	// Limits sets what Rekognition accepts; zero fields take its documented
	// limits (see Limits).
	Limits Limits
}

// Engine recognises images with Amazon Rekognition.
type Engine struct {
	api    API
	opts   Options
	log    *slog.Logger
	limits Limits
}

var _ vision.Recognizer = (*Engine)(nil)

// New returns an engine over api (normally *rekognition.Client).
func New(api API, opts Options) *Engine {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 20 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{api: api, opts: opts, log: log.With("component", "rekognition"), limits: opts.Limits.withDefaults()}
}

// jitterBackoff is full-jitter exponential backoff (AWS Architecture Blog,
// "Exponential Backoff And Jitter"): a uniform delay below
// min(max, base*2^attempt).
type jitterBackoff struct {
	base, max time.Duration
}

func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceil := b.base
	for i := 1; i < attempt && ceil < b.max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, b.max)
	return time.Duration(rand.Int64N(int64(ceil) + 1)), nil //nolint:gosec // retry jitter, not a secret
}

// callOptions makes every call use the engine's retry policy, whatever the
// client was configured with.
func (e *Engine) callOptions(o *awsrek.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = e.opts.MaxAttempts
		so.MaxBackoff = e.opts.MaxBackoff
		so.Backoff = jitterBackoff{base: e.opts.BaseDelay, max: e.opts.MaxBackoff}
	})
	o.RetryMaxAttempts = e.opts.MaxAttempts
}

// Recognize implements vision.Recognizer.
func (e *Engine) Recognize(ctx context.Context, in vision.Input, opts vision.Options) (*vision.Result, error) {
	opts = opts.WithDefaults()
	start := time.Now()
	img, err := e.prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	prepared := time.Since(start)
	res := &vision.Result{
		Image:   &img.info,
		Engine:  &vision.EngineInfo{Name: EngineName},
		Timings: map[string]float64{},
	}
	res.Timings[vision.TimingDecode] = ms(prepared)
	image := &types.Image{Bytes: img.bytes}

	type job struct {
		name string
		run  func(context.Context) error
	}
	var jobs []job
	var mu sync.Mutex // guards res fields written by the jobs
	if opts.Has(vision.FeatureLabels) {
		jobs = append(jobs, job{"labels", func(ctx context.Context) error {
			out, err := e.api.DetectLabels(ctx, labelsInput(image, opts), e.callOptions)
			if err != nil {
				return fmt.Errorf("detect labels: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Labels = labels(out.Labels)
			res.LabelModelVersion = aws.ToString(out.LabelModelVersion)
			res.ImageProperties = imageProperties(out.ImageProperties)
			return nil
		}})
	}
	if opts.Has(vision.FeatureFaces) {
		jobs = append(jobs, job{"faces", func(ctx context.Context) error {
			out, err := e.api.DetectFaces(ctx, &awsrek.DetectFacesInput{Image: image, Attributes: []types.Attribute{types.AttributeAll}}, e.callOptions)
			if err != nil {
				return fmt.Errorf("detect faces: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.FaceDetails = faceDetails(out.FaceDetails)
			return nil
		}})
	}
	if opts.Has(vision.FeatureText) {
		jobs = append(jobs, job{"text", func(ctx context.Context) error {
			out, err := e.api.DetectText(ctx, textInput(image, opts), e.callOptions)
			if err != nil {
				return fmt.Errorf("detect text: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.TextDetections = textDetections(out.TextDetections)
			res.TextModelVersion = aws.ToString(out.TextModelVersion)
			return nil
		}})
	}
	if opts.Has(vision.FeatureModeration) {
		jobs = append(jobs, job{"moderation", func(ctx context.Context) error {
			out, err := e.api.DetectModerationLabels(ctx, &awsrek.DetectModerationLabelsInput{
				Image:         image,
				MinConfidence: aws.Float32(float32(opts.ModerationMinConfidence)),
			}, e.callOptions)
			if err != nil {
				return fmt.Errorf("detect moderation labels: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.ModerationLabels = moderationLabels(out.ModerationLabels)
			res.ModerationModelVersion = aws.ToString(out.ModerationModelVersion)
			res.ContentTypes = contentTypes(out.ContentTypes)
			return nil
		}})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			t0 := time.Now()
			errs[i] = j.run(ctx)
			if errs[i] != nil {
				cancel() // one failure fails the image: stop paying for the rest
			}
			mu.Lock()
			res.Timings[vision.TimingKey(j.name)] = ms(time.Since(t0))
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, classify(err, in.Name)
	}
	res.Engine.Models = modelVersions(res)
	res.Timings[vision.TimingTotal] = ms(time.Since(start))
	e.log.DebugContext(ctx, "recognized", "image", in.Name, "normalized", img.normalized, "duration_ms", res.Timings[vision.TimingTotal])
	return res, nil
}

// firstError prefers an image-level error (the same for every call) over a
// cancellation caused by it.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if vision.CodeOf(classify(err, "")) != "" {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func modelVersions(r *vision.Result) []string {
	var out []string
	add := func(api, v string) {
		if v != "" {
			out = append(out, api+" "+v)
		}
	}
	add("DetectLabels", r.LabelModelVersion)
	add("DetectText", r.TextModelVersion)
	add("DetectModerationLabels", r.ModerationModelVersion)
	return out
}

func labelsInput(img *types.Image, opts vision.Options) *awsrek.DetectLabelsInput {
	return &awsrek.DetectLabelsInput{
		Image:         img,
		Features:      []types.DetectLabelsFeatureName{types.DetectLabelsFeatureNameGeneralLabels, types.DetectLabelsFeatureNameImageProperties},
		MaxLabels:     aws.Int32(int32(min(opts.MaxLabels, 1000))),
		MinConfidence: aws.Float32(float32(opts.MinConfidence)),
		Settings: &types.DetectLabelsSettings{
			ImageProperties: &types.DetectLabelsImagePropertiesSettings{MaxDominantColors: int32(min(opts.MaxDominantColors, 20))},
		},
	}
}

func textInput(img *types.Image, opts vision.Options) *awsrek.DetectTextInput {
	in := &awsrek.DetectTextInput{Image: img}
	if opts.TextMinConfidence > 0 {
		in.Filters = &types.DetectTextFilters{WordFilter: &types.DetectionFilter{MinConfidence: aws.Float32(float32(opts.TextMinConfidence))}}
	}
	return in
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
