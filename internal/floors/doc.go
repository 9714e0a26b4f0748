// Package floors holds no code: its test checks that every package of
// the module imports only packages on its own floor or below, by the
// floors table of docs/architecture.md, and that the table names every
// package.
package floors
