package bulwark

import "github.com/bulwarkdev/bulwark/ratelimit"

// Effective validates c and returns it with the defaults of every section
// filled in (see WithDefaults): what New will actually do. It is what
// "bulwark check" prints and what the configuration golden files record.
func (c Config) Effective() (Config, error) {
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c.WithDefaults(), nil
}

// WithDefaults returns c with the defaults of every section filled in, each
// from its package's WithDefaults, the same defaults the package's New
// applies: the one place they are written. Sections that are off (session
// without a store, uploads without paths, media without hosts) are
// returned as they are, empty. The result means the same as c: feeding it
// back to New builds the same chain. It does not validate c (see
// Effective) and builds nothing.
func (c Config) WithDefaults() Config {
	c.HTTPS = c.HTTPS.WithDefaults()
	c.Headers = c.Headers.WithDefaults()
	c.RateLimit = ratelimit.WithDefaults(c.RateLimit)
	c.Limits = c.Limits.WithDefaults()
	c.CSRF = c.CSRF.WithDefaults()
	if c.sessionWanted() {
		c.Session = c.Session.WithDefaults()
	}
	if len(c.Uploads.Paths) > 0 {
		c.Uploads.Config = c.Uploads.Config.WithDefaults()
	}
	if c.Media.Enabled() {
		c.Media.SiteHosts = mediaSiteHosts(c)
		c.Media = c.Media.WithDefaults()
	}
	return c
}
