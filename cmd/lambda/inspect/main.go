// Command inspect is the InspectImage task of the state machine as a
// Lambda function: pipeline.Tasks.Inspect over Amazon S3.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagerec/imagerec/internal/awslambda"
	"github.com/imagerec/imagerec/internal/objstore/s3store"
	"github.com/imagerec/imagerec/internal/pipeline"
)

func main() {
	env := awslambda.LoadEnv(os.Getenv)
	log := env.NewLogger(os.Stderr)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	tasks := &pipeline.Tasks{Objects: pipeline.StoreObjects{Store: s3store.New(s3.NewFromConfig(cfg, env.S3Options))}, Logger: log}
	lambda.Start(awslambda.Handler(pipeline.Handle("inspect", tasks.Inspect), log, &awslambda.Metrics{W: os.Stdout}))
}
