// Package citest is test support for tests that need something from
// outside the repository: the installed models and ONNX Runtime, a
// development set, a mirror, a CLI such as aws or node. Such a test skips
// with a clear message on a machine that lacks it, but fails under CI
// (the environment variable CI set to anything non-empty, as the README's
// test command does), so CI can never pass by skipping. This package is
// the one place that rule is written.
package citest
