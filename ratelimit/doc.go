// Package ratelimit limits the rate of requests per client: per-route
// rules keyed by the client the trusted-proxy layer established, applied
// with the generic cell rate algorithm (GCRA) in a Store shared by every
// instance that should share the limit, answered with 429 Too Many
// Requests and Retry-After. Django has no counterpart: its documentation
// leaves brute-force protection to "a plugin or web server module".
//
// Use it like the other layers: New(Config) builds a *Limiter, whose
// Handler wraps the application and whose Check applies the rules to one
// request. In Bulwark's chain it runs after httpsonly and before limits, so
// that a client over its rate costs no body reading.
//
// Every rule that matches a request applies (a general rule on "/" and a
// stricter one on the sign-in page both count a sign-in). A rule in
// failed-login mode (Rule.CountStatuses) counts only requests answered
// with one of its statuses: for Django's LoginView, 200 (the form
// re-rendered after a failure) and not 302 (the redirect after success).
// It counts every request first and refunds it once the answer shows it
// did not count, so that many attempts sent at once cannot overshoot the
// limit while they wait for their answers.
//
// Stores: NewMemoryStore (this process; no allocation per request once a
// client is known), ratelimit/redisstore (one Lua script call per request)
// and ratelimit/pgstore (one SQL statement per request). Each passes the
// conformance suite in ratelimit/ratelimittest.
//
// # Threat model
//
// Rate limits slow down password guessing, credential stuffing, scraping
// and request floods from a client that can be told apart from others:
// by its address (IPv4 address, or IPv6 /64 by default, since one
// subscriber holds a whole /64 and could otherwise use 2^64 addresses),
// or by an identifier the application issues (a header or cookie). The
// address is the one the trusted-proxy layer established: a forwarded
// header from a peer that is not a configured proxy cannot choose it.
//
// They do not stop an attacker who controls many addresses (a botnet, or
// a large IPv6 allocation beyond the configured prefix): each address
// gets its own allowance. Pair a failed-login rule with account lockout or
// multi-factor authentication in the application when that matters.
// Keying by a header or cookie lets the client choose its bucket by
// choosing the value: such a rule limits well-behaved clients (API
// quotas), not attackers; combine it with an "ip" rule. Clients behind
// one NAT share an allowance; a rule too strict for a shared address is
// a denial of service on its users.
//
// Store outage: a rule fails open by default. While the store cannot
// answer within Rule.Timeout (250 ms by default), requests pass unlimited,
// a warning is logged (at most once a second) and the decision is
// counted as failed_open. Failing closed would let anyone who can slow
// down or stop the Redis or PostgreSQL server take the whole site down,
// and would turn every store maintenance into downtime; failing open only
// lifts the brake on abuse for the length of the outage, which monitoring
// of the failed_open count reveals. Rule.FailClosed chooses the opposite
// (503) for a rule where unlimited guessing is the greater harm. Either
// way no request waits longer than the timeout for the store: the Limiter
// stops waiting at the deadline even when the store's client answers
// later, and once the store has failed for a request, the request's other
// rules apply their policy without a call, so a frozen store costs a
// request one rule's timeout, however many rules it matches.
//
// The memory store bounds its size (MemoryConfig.MaxKeys): clients
// arriving from ever new addresses make it forget idle clients first and
// then arbitrary ones, never grow without bound. Keys of the remote stores
// expire once a client's allowance has fully recovered (Redis) or are
// removed by Sweep (PostgreSQL).
package ratelimit
