// Command notify is the Notify task of the state machine as a Lambda
// function: pipeline.Tasks.Notify publishing to Amazon SNS.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/imagerec/imagerec/internal/awslambda"
	snsnotify "github.com/imagerec/imagerec/internal/notify/sns"
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
	tasks := &pipeline.Tasks{Notifier: snsnotify.Notifier{Client: sns.NewFromConfig(cfg), TopicARN: env.TopicARN}, Logger: log}
	lambda.Start(awslambda.Handler(pipeline.Handle("notify", tasks.Notify), log, &awslambda.Metrics{W: os.Stdout}))
}
