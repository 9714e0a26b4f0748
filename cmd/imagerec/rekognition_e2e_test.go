package main

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	rektypes "github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/smithy-go"
)

// TestServeRekognitionAPI calls the Rekognition-compatible API of `imagerec
// serve` with the SDK: real local recognition, SigV4 checked.
func TestServeRekognitionAPI(t *testing.T) {
	needModels(t)
	s := startServer(t, t.TempDir())
	client := func(secret string) *rekognition.Client {
		return rekognition.New(rekognition.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(s.endpoint),
			Credentials:  credentials.NewStaticCredentialsProvider("imagerec", secret, ""),
		})
	}
	ctx := t.Context()
	img := &rektypes.Image{Bytes: photo(t, "dog.jpg")}
	out, err := client("imagerec-local-secret").DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: img, MaxLabels: aws.Int32(20)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range out.Labels {
		if aws.ToString(l.Name) == "Dog" {
			found = true
		}
	}
	if !found {
		t.Errorf("no Dog label: %+v", out.Labels)
	}
	// S3Object reads from the local buckets.
	putObject(ctx, t, s.client(), "astronaut.jpg", photo(t, "astronaut.jpg"))
	faces, err := client("imagerec-local-secret").DetectFaces(ctx, &rekognition.DetectFacesInput{
		Image: &rektypes.Image{S3Object: &rektypes.S3Object{Bucket: aws.String(testUpload), Name: aws.String("astronaut.jpg")}},
	})
	if err != nil || len(faces.FaceDetails) != 1 {
		t.Fatalf("DetectFaces: %v, %d faces", err, len(faces.FaceDetails))
	}
	_, err = client("wrong-secret").DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: img})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v, want InvalidSignatureException", err)
	}
}
