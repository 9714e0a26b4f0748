// Package rekshape checks JSON documents against Amazon Rekognition's API
// shapes (a subset of botocore's service-2.json, kept in
// testdata/rekognition/shapes.json). Tests use it to show that recorded
// responses and the local endpoint's responses are shaped exactly as AWS
// documents them: no unknown members, no nulls, the right JSON types and
// enum values.
package rekshape
