// Package natsstore keeps the executor's shared state in NATS JetStream
// key-value buckets, for a cluster of imagerec processes on one JetStream
// cluster (docs/cluster.md, docs/adr/0015-shared-execution-state.md):
//
//   - Store is an sfn.Store: one record per execution (its description,
//     definition and history, the JSON the disk store writes, S2
//     compressed by the stream) under a key made of its state machine and
//     its ARN, so every gateway lists and describes every worker's
//     executions in Step Functions' shapes. Sub-stores (a Distributed
//     Map's child executions) are keys under the parent's.
//   - Leaser is an sfn.Leaser: a lease is a key created only when absent
//     (compare-and-set on the revision) in a bucket whose entries expire
//     after the lease's time-to-live; the holder renews it at a third of
//     that, and loses it when a renewal finds another owner or has not
//     been confirmed for a whole time-to-live.
//   - State is also an sfn.StopRequester: StopExecution in a process that
//     does not run the execution stores a stop request under x.<arn> in
//     the records bucket, which the lease holder reads and acts on.
//
// Writes are replicated to Options.Replicas servers before they return.
// A write that gets no answer (a leader being elected after a node
// stopped) is sent again for up to Options.Patience.
package natsstore
