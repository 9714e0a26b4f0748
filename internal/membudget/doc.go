// Package membudget admits work by its memory cost through one budget
// shared by every worker, so that large images wait for each other instead
// of multiplying.
//
// A Budget is a FIFO weighted semaphore over bytes: Acquire blocks until
// the request fits beside what is already admitted (or ctx ends), and a
// request larger than the whole budget fails at once with
// ErrExceedsBudget rather than waiting for ever. Requests are served in
// arrival order, so a large one is never starved by a stream of small ones.
// InUse, Peak and Waiting report the state for metrics and tests.
//
// System reads the memory a process may use (the cgroup limit when one is
// set, else MemTotal) and Default turns it into the default budget. The
// package does no other I/O and does not log.
package membudget
