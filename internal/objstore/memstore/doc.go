// Package memstore is an in-memory objstore.Store (with multipart), for
// tests. Nothing survives the process.
package memstore
