// Command trigger is the Lambda function behind the upload bucket's
// ObjectCreated notification: it starts one state machine execution per new
// object (keys URL-decoded once; the result bucket and imagerec's own keys
// ignored; duplicate events start nothing). See internal/awslambda.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/imagerec/imagerec/internal/awslambda"
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
	if env.StateMachineARN == "" {
		log.Error("IMAGEREC_STATE_MACHINE_ARN is not set")
		os.Exit(1)
	}
	t := &awslambda.Trigger{
		Plan:            pipeline.Trigger{ResultBucket: env.ResultBucket},
		Starter:         sfn.NewFromConfig(cfg),
		StateMachineARN: env.StateMachineARN,
		Logger:          log,
		Metrics:         &awslambda.Metrics{W: os.Stdout},
	}
	lambda.Start(t.Handle)
}
