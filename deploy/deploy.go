// Package deploy holds the files deployed to AWS (template.yaml, the state
// machine definition) and embeds the definition so that the local executor
// runs the very same file.
package deploy

import (
	_ "embed"
)

// StateMachine is deploy/statemachine.asl.json, with ${...} placeholders
// that SAM's DefinitionSubstitutions fill on AWS and LocalSubstitutions fill
// locally.
//
//go:embed statemachine.asl.json
var StateMachine []byte

// Backfill is deploy/backfill.asl.json: a Distributed Map over the upload
// bucket that runs the pipeline's inspect, recognise and store steps for
// the objects that have no document yet. Its placeholders are filled like
// StateMachine's (LocalSubstitutions has them too).
//
//go:embed backfill.asl.json
var Backfill []byte

// Function names of the tasks, as registered with the local executor and as
// the Lambda functions are named by the SAM template.
const (
	FunctionInspect   = "imagerec-inspect"
	FunctionRecognize = "imagerec-recognize"
	FunctionStore     = "imagerec-store"
	FunctionNotify    = "imagerec-notify"
)

// LocalStateMachine and LocalBackfill are the pipeline's and the
// backfill's state machine names in imagerec serve (ARNs
// arn:aws:states:REGION:000000000000:stateMachine:NAME).
const (
	LocalStateMachine = "imagerec"
	LocalBackfill     = "imagerec-backfill"
)

// BackfillResultPrefix is where the backfill's ResultWriter writes in the
// result bucket.
const BackfillResultPrefix = "_imagerec/backfill"

// LocalRegion and LocalAccount make the ARNs of the local executor.
const (
	LocalRegion  = "local"
	LocalAccount = "000000000000"
)

// FunctionARN returns the local Lambda-style ARN of a task function.
func FunctionARN(name string) string {
	return "arn:aws:lambda:" + LocalRegion + ":" + LocalAccount + ":function:" + name
}

// TopicARN returns the local SNS-style ARN of the notification topic.
func TopicARN(name string) string {
	return "arn:aws:sns:" + LocalRegion + ":" + LocalAccount + ":" + name
}

// LocalSubstitutions returns the DefinitionSubstitutions the local executor
// applies, mirroring the ones in template.yaml. uploadBucket is optional
// (only the backfill uses it).
func LocalSubstitutions(resultBucket string, uploadBucket ...string) map[string]string {
	up := "image-upload-bucket"
	if len(uploadBucket) > 0 {
		up = uploadBucket[0]
	}
	return map[string]string{
		"UploadBucket":         up,
		"InspectFunctionArn":   FunctionARN(FunctionInspect),
		"RecognizeFunctionArn": FunctionARN(FunctionRecognize),
		"StoreFunctionArn":     FunctionARN(FunctionStore),
		"NotifyFunctionArn":    FunctionARN(FunctionNotify),
		"ResultBucket":         resultBucket,
		"TopicArn":             TopicARN("imagerec-notifications"),
	}
}
