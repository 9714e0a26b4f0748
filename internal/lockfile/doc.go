// Package lockfile gives one process at a time a directory: Acquire takes
// an exclusive advisory lock (flock) on a file and writes the holder's
// process id and description into it, so that a second process is refused
// with a message naming the first. The lock is held until Release or until
// the process ends, however it ends (the kernel drops it on exit, SIGKILL
// included), so a stale file never blocks a restart.
package lockfile
