// Package asl parses, validates and evaluates the Amazon States Language:
// state machine definitions, reference paths and JSONPath expressions,
// payload templates (Parameters, ResultSelector, ItemSelector, Assign),
// intrinsic functions and Choice rules, and for states whose QueryLanguage
// is JSONata, "{% %}" expressions (evaluated with xiatechs/jsonata-go plus
// the functions Step Functions adds).
//
// It is pure: no I/O, no logging, no clock. The execution engine in
// internal/sfn drives it. JSON values are represented as nil, bool, string,
// json.Number, []any and *Object (an object that keeps its key order, so
// States.JsonToString and States.Format print keys as Step Functions does).
//
// Errors raised while evaluating carry a Step Functions error name (see
// Error and the ErrX name constants) so Retry and Catch can match them.
package asl
