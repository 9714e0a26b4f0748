package s3store

// Translate exposes translate to the tests.
var Translate = translate
