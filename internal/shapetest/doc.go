// Package shapetest is test support: it checks JSON documents against
// botocore's API shapes, Amazon Rekognition's (a subset of botocore's
// service-2.json, kept in testdata/rekognition/shapes.json) and AWS Step
// Functions' (for internal/sfnapi). Tests use it to show that recorded
// responses and the local endpoints' responses are shaped exactly as AWS
// documents them: no unknown members, no nulls, the right JSON types and
// enum values.
package shapetest
