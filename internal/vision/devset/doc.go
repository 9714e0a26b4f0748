// Package devset is the labelled development set of real photos that the
// local engine's DetectLabels is measured and calibrated on.
//
// The photos are not in git. The manifest (testdata/devset/manifest.json)
// pins, for each photo, the Debian package it comes from (name, version,
// architecture and the .deb's sha256), the path inside the package, the
// photo's own sha256, its licence and author, a scene tag, a split (dev or
// check) and two label lists:
//
//   - expected: labels a Rekognition user would consider clearly right and
//     important for the photo (recall is measured on these);
//   - acceptable: further labels that are also correct but not required
//     (a returned label in either list counts as correct for precision).
//
// Fetcher downloads each package that still has a missing photo with
// `apt-get download name:arch=version`, checks the .deb's sha256, streams
// `dpkg-deb --fsys-tarfile` and writes only the listed paths to
// <dir>/<id><ext>, each checked against its sha256. Photos already present
// with the right checksum are left alone, so a second run only reads them.
//
// Evaluate scores returned label lists (photo id -> names in rank order)
// against the manifest: recall@k over expected labels, precision over the
// top k returned labels, overall, per scene tag and per split, with a
// per-photo account of what was missed and what was returned wrongly. It
// does not know which engine produced the labels, so a new label source
// is measured by building that map.
package devset
