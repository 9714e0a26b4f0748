// Package thumbnail makes the web console's renditions of uploaded images
// (a small thumbnail for the gallery, a larger preview for the detail
// view) once per object version, with the project's own decoder
// (internal/imageio: EXIF orientation applied, so boxes computed on the
// upright image line up), and keeps them as JPEG files in a directory of
// the server's data, outside any bucket: they never appear in a listing.
//
// A rendition is named by the object's bucket, key and ETag, so a new
// version of an object gets new files and the old ones are removed when
// the new ones are made; Forget removes an object's files. Decoding goes
// through the shared memory budget (internal/membudget) by the header's
// cost estimate, like recognition, and at most Options.Workers images are
// decoded at once; concurrent requests for the same rendition share one
// decode. Renditions are made when first asked for.
package thumbnail
