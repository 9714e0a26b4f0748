// Package facecollection keeps Amazon Rekognition-style face collections:
// named sets of indexed faces (a FaceId, the ImageId of the image they came
// from, an ExternalImageId, the face's box and confidence) each with its
// identity descriptor, searched exactly by cosine similarity.
//
// It knows nothing of HTTP or of the engine: rekapi serves the Rekognition
// operations over a Store, and the pipeline searches and indexes the faces
// of uploads through it. The descriptors come from the engine
// (vision.FaceDetail.Descriptor, unit length); Similarity maps their
// cosine onto Rekognition's 0-100 scale (see docs/face-collections.md for
// the calibration).
//
// Durability: every change is one file written to a temporary name,
// fsynced and renamed into the collection's directory, which is then
// fsynced, before the call returns; a collection is created by renaming a
// complete temporary directory and deleted by renaming it aside first. A
// crash (SIGKILL included) leaves either the whole change or none of it;
// Open removes the temporary leftovers. Layout under the directory given
// to Open:
//
//	<CollectionId>/collection.json        id, ARN, creation time, face model version
//	<CollectionId>/seg-<seq>.bin          one change: faces added and face ids deleted
//
// A segment is a JSON header (length-prefixed), the added faces'
// descriptors as little-endian float32, and a CRC-32C of everything
// before it; a segment that fails its checksum makes Open fail rather
// than silently lose faces. When a collection has more than
// compactAfter segments, the next change also writes one snapshot segment
// that covers (supersedes) every earlier one, and deletes them.
//
// Search is exact: every stored descriptor is compared (a dot product of
// unit vectors), split across the CPUs for large collections; see
// BenchmarkSearch for the cost at 1,000 to 100,000 faces.
//
// A Store is safe for concurrent use; searches of one collection run in
// parallel, changes to it one at a time.
package facecollection
