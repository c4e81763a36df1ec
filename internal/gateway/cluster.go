package gateway

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cluster"
)

// ClusterConfig names the store several gateways behind one load balancer
// share: TLS session ticket keys (so a ticket issued by one gateway resumes
// on another), ACME certificates with their issuance locks (so gateways
// starting together place one order per name) and the counts of the
// [[rate_limit]] rules (so a limit holds across the fleet). Without a
// store, each gateway keeps these for itself, in memory and in
// tls.acme.cache_dir.
type ClusterConfig struct {
	// Store is the store's URL: "redis://[user:password@]host:port[/db]",
	// "rediss://..." for TLS, or "postgres://..." (any URL pgx accepts).
	// Empty (with StoreEnv empty too) means no shared store. Prefer
	// StoreEnv for a URL with a password: the file is easier to leak
	// than the environment.
	Store string `toml:"store"`
	// StoreEnv names an environment variable holding the URL instead.
	// Set at most one of Store and StoreEnv.
	StoreEnv string `toml:"store_env"`
	// Timeout bounds every call to the store, connecting included. A
	// store that stops answering then costs this long, not the length of
	// the outage. Zero means 1s; at most 30s.
	Timeout time.Duration `toml:"timeout"`
	// Prefix keeps the fleet's data apart from other data in the store:
	// Redis keys start with Prefix + ":", PostgreSQL tables with Prefix +
	// "_". Lower-case letters, digits and "_". Empty means "bulwark".
	Prefix string `toml:"prefix"`
	// TicketKeySecretEnv names an environment variable holding a secret of
	// at least 32 bytes, the same on every gateway of the fleet. Session
	// ticket keys are derived from it and random seeds kept in the store
	// (HKDF-SHA256), so someone who can read the store cannot decrypt
	// recorded TLS traffic. Empty means tickets are not shared: each
	// gateway keeps its own keys in memory (a client sent to another
	// gateway makes a full handshake).
	TicketKeySecretEnv string `toml:"ticket_key_secret_env"`
}

// MinTicketKeySecret is the shortest secret TicketKeySecretEnv may hold.
const MinTicketKeySecret = 32

// Enabled reports whether a store is configured.
func (c ClusterConfig) Enabled() bool { return c.Store != "" || c.StoreEnv != "" }

// validate checks what can be checked without the environment.
func (c ClusterConfig) validate() error {
	if c.Store != "" && c.StoreEnv != "" {
		return invalid("cluster: set store or store_env, not both")
	}
	if !c.Enabled() {
		if c.TicketKeySecretEnv != "" || c.Timeout != 0 || c.Prefix != "" {
			return invalid("cluster: store (or store_env) is required with the other [cluster] settings")
		}
		return nil
	}
	url := c.Store
	if url == "" {
		url = "redis://placeholder" // the URL is checked at start
	}
	if err := (cluster.Options{URL: url, Timeout: c.Timeout, Prefix: c.Prefix}).Validate(); err != nil {
		return invalid("cluster: %v", err)
	}
	return nil
}

// options resolves the store URL from the environment if needed.
func (c ClusterConfig) options() (cluster.Options, error) {
	u := c.Store
	if c.StoreEnv != "" {
		u = os.Getenv(c.StoreEnv)
		if u == "" {
			return cluster.Options{}, invalid("cluster.store_env: environment variable %q is empty", c.StoreEnv)
		}
	}
	o := cluster.Options{URL: u, Timeout: c.Timeout, Prefix: c.Prefix}
	if err := o.Validate(); err != nil {
		return cluster.Options{}, invalid("cluster: %v", err)
	}
	return o, nil
}

// ticketSecret reads the ticket key secret, nil when tickets are not
// shared.
func (c ClusterConfig) ticketSecret() ([]byte, error) {
	if c.TicketKeySecretEnv == "" {
		return nil, nil
	}
	s := os.Getenv(c.TicketKeySecretEnv)
	if len(s) < MinTicketKeySecret {
		return nil, invalid("cluster.ticket_key_secret_env: environment variable %q holds %d bytes, want at least %d",
			c.TicketKeySecretEnv, len(s), MinTicketKeySecret)
	}
	return []byte(s), nil
}

// openCluster connects to the configured store.
func openCluster(c ClusterConfig) (cluster.Store, error) {
	o, err := c.options()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := cluster.Open(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("gateway: cluster store: %w", err)
	}
	return s, nil
}

// redactURL hides the password of a store URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}
