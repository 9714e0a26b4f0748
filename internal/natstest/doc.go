// Package natstest runs real NATS JetStream clusters for tests: n
// nats-server processes, built once from the module's own nats-server/v2
// dependency (the module cache, no download), clustered over loopback
// routes, each with its own store directory and configuration file. A
// test can stop (SIGTERM) or kill (SIGKILL) a node and start it again on
// the same port with the same store. Clients connect to URLs() exactly as
// to a cluster on other machines.
package natstest
