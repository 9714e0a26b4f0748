// Package fsperm keeps the data directory private to the user running
// imagerec: files 0600, directories 0700.
//
// The stores create their files with File and Dir; RestrictUmask makes the
// process umask 077 so that what libraries create (the NATS JetStream
// files of the queue) is private too; Tighten removes the group and other
// bits from everything already under a directory, for a data directory
// written by an older version. The package does nothing else and does not
// log.
package fsperm
