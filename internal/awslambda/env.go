package awslambda

import (
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Environment variable names, set by deploy/template.yaml.
const (
	EnvUploadBucket    = "IMAGEREC_UPLOAD_BUCKET"
	EnvResultBucket    = "IMAGEREC_RESULT_BUCKET"
	EnvStateMachineARN = "IMAGEREC_STATE_MACHINE_ARN"
	EnvTopicARN        = "IMAGEREC_TOPIC_ARN"
	EnvEngine          = "IMAGEREC_ENGINE"
	EnvFeatures        = "IMAGEREC_FEATURES"
	EnvS3PathStyle     = "IMAGEREC_S3_PATH_STYLE"
	EnvFaceCollection  = "IMAGEREC_FACE_COLLECTION"
	EnvIndexFaces      = "IMAGEREC_INDEX_FACES"
)

// Env is what the functions read from their environment (set by
// deploy/template.yaml).
type Env struct {
	// UploadBucket and ResultBucket are the stack's buckets
	// (IMAGEREC_UPLOAD_BUCKET, IMAGEREC_RESULT_BUCKET).
	UploadBucket string
	ResultBucket string
	// StateMachineARN is what the trigger starts (IMAGEREC_STATE_MACHINE_ARN).
	StateMachineARN string
	// TopicARN is the default notification topic (IMAGEREC_TOPIC_ARN).
	TopicARN string
	// Engine is rekognition or onnx (IMAGEREC_ENGINE, default rekognition).
	Engine string
	// Features is the comma-separated list of features to run
	// (IMAGEREC_FEATURES: labels, faces, text, moderation; empty or "all"
	// for every one). With Rekognition each feature is one billed call.
	Features string
	// LogLevel is Lambda's AWS_LAMBDA_LOG_LEVEL (DEBUG, INFO, WARN, ERROR).
	LogLevel string
	// S3PathStyle addresses buckets in the path, for S3-compatible
	// endpoints: IMAGEREC_S3_PATH_STYLE=true, or implied by
	// AWS_ENDPOINT_URL_S3.
	S3PathStyle bool
	// FaceCollection, when set, has each image's faces searched in this
	// Rekognition collection (IMAGEREC_FACE_COLLECTION).
	FaceCollection string
	// IndexFaces also adds them to it (IMAGEREC_INDEX_FACES=true).
	IndexFaces bool
}

// LoadEnv reads Env through getenv.
func LoadEnv(getenv func(string) string) Env {
	e := Env{
		UploadBucket:    getenv(EnvUploadBucket),
		ResultBucket:    getenv(EnvResultBucket),
		StateMachineARN: getenv(EnvStateMachineARN),
		TopicARN:        getenv(EnvTopicARN),
		Engine:          getenv(EnvEngine),
		Features:        getenv(EnvFeatures),
		LogLevel:        getenv("AWS_LAMBDA_LOG_LEVEL"),
		S3PathStyle:     strings.EqualFold(getenv(EnvS3PathStyle), "true") || getenv("AWS_ENDPOINT_URL_S3") != "",
		FaceCollection:  getenv(EnvFaceCollection),
		IndexFaces:      strings.EqualFold(getenv(EnvIndexFaces), "true"),
	}
	if e.Engine == "" {
		e.Engine = "rekognition"
	}
	return e
}

// S3Options applies Env to an S3 client.
func (e Env) S3Options(o *s3.Options) {
	if e.S3PathStyle {
		o.UsePathStyle = true
	}
}

// NewLogger returns the functions' JSON logger at e.LogLevel (default INFO).
func (e Env) NewLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(e.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
