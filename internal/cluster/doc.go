// Package cluster is the state several gateways share: one store, Redis or
// PostgreSQL, named once in the gateway's [cluster] table. It offers what
// the fleet features need and nothing more: small values under keys, listed
// by prefix, and leases (locks that expire, so a gateway that dies holding
// one does not block the others for ever).
//
// Every call carries a deadline (Options.Timeout, 1s by default) on top of
// the caller's context: a store that stops answering (a frozen process, a
// network partition that drops packets) makes calls fail after the
// deadline instead of hanging the caller for the length of the outage. The
// Redis client is built with ContextTimeoutEnabled for that reason (go-redis
// otherwise ignores context deadlines on reads and writes).
//
// # Threat model
//
// The store is trusted for availability, not for secrecy: what the
// gateways keep there is either public (certificates), meant for the
// store's operators anyway (ACME account and certificate keys, which any
// shared certificate store holds), or useless without a secret kept out of
// it (TLS session ticket keys are derived from seeds in the store and a
// secret from each gateway's environment; see the gateway's [cluster]
// ticket_key_secret_env). A store reader therefore cannot decrypt recorded
// TLS traffic. A store writer can deny service (delete certificates,
// hold leases) and can make gateways reuse old ticket seeds; it cannot make
// them issue tickets under keys it knows. Locks are leases: a gateway
// paused longer than the lease (a stopped VM) may find its lock taken over;
// the operations done under them (ACME orders, ticket rotation) are
// idempotent enough that the worst outcome is a duplicate order or a
// rotation one interval early.
package cluster
