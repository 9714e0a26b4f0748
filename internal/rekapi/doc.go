// Package rekapi serves the Amazon Rekognition JSON 1.1 protocol over any
// vision.Recognizer, so that code and tools written for Rekognition (the AWS
// SDKs, the aws CLI) work against the local engine by changing the endpoint.
//
// The handler answers POST / with X-Amz-Target
// RekognitionService.DetectLabels, DetectFaces, DetectText or
// DetectModerationLabels, the face collection operations (CreateCollection,
// DescribeCollection, ListCollections, DeleteCollection, IndexFaces,
// ListFaces, DeleteFaces, SearchFaces, SearchFacesByImage; collections.go,
// over a facecollection.Store given in Options) and CompareFaces, with
// Content-Type application/x-amz-json-1.1. The
// image comes as Image.Bytes (base64 in the JSON, at most 5 MiB) or as
// Image.S3Object naming an object in the local store (at most 15 MiB).
// Request parameters are honoured as Rekognition documents them: MaxLabels,
// MinConfidence, Features (GENERAL_LABELS, IMAGE_PROPERTIES),
// Settings.GeneralLabels inclusion and exclusion filters,
// Settings.ImageProperties.MaxDominantColors, Attributes (DEFAULT, ALL or
// single attributes), Filters.WordFilter and Filters.RegionsOfInterest.
// The face attributes a response leaves out are passed to the engine as
// vision.Options.OmitFaceAttributes (DetectFaces and IndexFaces: those
// Attributes / DetectionAttributes do not ask for; SearchFacesByImage:
// all; CompareFaces: all but Emotions and Smile of the target faces), so
// that the local engine does not run the models only they need; likewise
// DetectLabels without IMAGE_PROPERTIES sets OmitImageProperties.
//
// Responses carry exactly Rekognition's members (checked in tests against
// botocore's shapes). Errors are {"__type": code, "Message": text} with the
// x-amzn-ErrorType header and Rekognition's HTTP status: 400 for client
// errors (InvalidImageFormatException, ImageTooLargeException,
// InvalidParameterException, InvalidS3ObjectException,
// ResourceNotFoundException, ResourceAlreadyExistsException,
// InvalidPaginationTokenException, ValidationException for constraint
// violations, and the protocol's own UnknownOperationException,
// SerializationException and signature errors), 500 for
// InternalServerError.
//
// Requests are SigV4-checked by the sigv4.Verifier given in Options, for
// the service "rekognition" in any region. One image is
// recognised per request with only the feature the operation needs.
package rekapi
