// Command recognize is the ImageRecognition task of the state machine as a
// Lambda function: pipeline.Tasks.Recognize over Amazon S3 with the Amazon
// Rekognition engine (IMAGEREC_ENGINE=rekognition, the default). The ONNX
// engine needs cgo and the ONNX runtime, which this static build leaves
// out; see docs/aws.md.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagerec/imagerec/internal/awslambda"
	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/objstore/s3store"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/rekognition"
)

func main() {
	env := awslambda.LoadEnv(os.Getenv)
	log := env.NewLogger(os.Stderr)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	if env.Engine != "rekognition" {
		log.Error("engine not in this build", "engine", env.Engine, "hint", "this function is built with CGO_ENABLED=0 and only has the rekognition engine")
		os.Exit(1)
	}
	features, err := vision.ParseFeatures(env.Features)
	if err != nil {
		log.Error("IMAGEREC_FEATURES", "error", err)
		os.Exit(1)
	}
	if env.FaceCollection != "" && !facecollection.ValidID(env.FaceCollection) {
		log.Error("IMAGEREC_FACE_COLLECTION is not a collection id ([a-zA-Z0-9_.-]+, at most 255)", "collection", env.FaceCollection)
		os.Exit(1)
	}
	engine := rekognition.New(awsrek.NewFromConfig(cfg), rekognition.Options{Logger: log})
	tasks := &pipeline.Tasks{
		Objects:    pipeline.StoreObjects{Store: s3store.New(s3.NewFromConfig(cfg, env.S3Options))},
		Recognizer: engine,
		Logger:     log,
		Options:    vision.Options{Features: features},
		// The same task searches (and indexes) faces with Rekognition's
		// own SearchFacesByImage and IndexFaces.
		FaceCollection: env.FaceCollection,
		IndexFaces:     env.IndexFaces,
		Faces:          engine,
	}
	lambda.Start(awslambda.Handler(pipeline.Handle("recognize", tasks.Recognize), log, &awslambda.Metrics{W: os.Stdout}))
}
