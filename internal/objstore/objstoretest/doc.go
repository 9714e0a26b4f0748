// Package objstoretest is the conformance suite every objstore driver runs:
// call Run from the driver's tests with a constructor of empty stores.
package objstoretest
