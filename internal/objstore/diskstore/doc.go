// Package diskstore is the default objstore.Store: objects and multipart
// parts as files under one root directory, each object described by a
// sidecar JSON file.
//
// Layout under root:
//
//	buckets/NAME/bucket.json               creation date
//	buckets/NAME/obj/HH/HASH.json          sidecar: real key, size, etag, content type, content headers, user metadata,
//	                                       checksum, part table and upload ID (multipart), mtime, data file
//	buckets/NAME/obj/HH/HASH.GEN.data      object bytes (GEN is random per write)
//	buckets/NAME/uploads/ID/upload.json    multipart upload: key, options, start time
//	buckets/NAME/uploads/ID/NNNNN.MD5[.SUM].part one file per part (SUM: hex of its checksum, if sent)
//	tmp/                                   bucket creation and deletion scratch
//
// HASH is the hex SHA-256 of the key and HH its first two characters, so no
// key (spaces, '+', unicode, "../") ever becomes a path: the real key lives
// only in the sidecar. Bucket names are validated by objstore.CheckBucketName
// and are safe path elements.
//
// Durability: the data file is written and fsynced, then the sidecar is
// written to a temporary name, fsynced and renamed over the old one (the
// commit point, taken under the store's lock after checking the write's
// Conditions against the current object, so conditional writes are atomic),
// then the directory is fsynced; only then does PutObject return.
// Everything known about an object is in its one sidecar, never in a
// second file a crash could tear from it. Data files that no sidecar names (a crash between the two steps,
// or an overwritten object) are removed by Open.
//
// An in-memory index of every bucket's sidecars is loaded by Open and kept
// in step by writes, so listing does not read the disk. One process owns a
// root at a time.
package diskstore
