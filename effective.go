package bulwark

import (
	"io/fs"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/upload"
)

// Effective validates c and returns it with the defaults of every section
// filled in: what New will actually do. It is what "bulwark check" prints
// and what the configuration golden files record. Sections that are off
// (session without a store, uploads without paths, media without hosts)
// are returned as they are, empty. The result means the same as c: feeding
// it back to New builds the same chain.
func (c Config) Effective() (Config, error) {
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	c.HTTPS = c.HTTPS.WithDefaults()
	c.Headers = c.Headers.WithDefaults()
	c.Limits = effectiveLimits(c.Limits)
	c.CSRF = effectiveCSRF(c.CSRF)
	if c.Session.Store != nil || c.Session.CookieStore != nil {
		c.Session = effectiveSession(c.Session)
	}
	if len(c.Uploads.Paths) > 0 {
		c.Uploads = effectiveUploads(c.Uploads)
	}
	if c.Media.Enabled() {
		c.Media.SiteHosts = mediaSiteHosts(c)
		if c.Media.CrossOriginResourcePolicy == "" {
			c.Media.CrossOriginResourcePolicy = "cross-origin"
		}
	}
	return c, nil
}

// effectiveLimits fills the top-level values; routes keep their zero
// fields, which inherit the (now explicit) top level as before.
func effectiveLimits(c limits.Config) limits.Config {
	d := limits.Default()
	v := &c.Values
	if v.MaxBodyBytes == 0 {
		v.MaxBodyBytes = d.MaxBodyBytes
	}
	if v.MaxFormBytes == 0 {
		v.MaxFormBytes = d.MaxFormBytes
	}
	if v.MaxFields == 0 {
		v.MaxFields = d.MaxFields
	}
	if v.MaxFiles == 0 {
		v.MaxFiles = d.MaxFiles
	}
	if v.MaxFileBytes == 0 {
		// An unset per-file cap follows the body cap.
		v.MaxFileBytes = v.MaxBodyBytes
	}
	if v.MaxPartHeaderBytes == 0 {
		v.MaxPartHeaderBytes = d.MaxPartHeaderBytes
	}
	if v.FileMemoryThreshold == 0 {
		v.FileMemoryThreshold = d.FileMemoryThreshold
	}
	return c
}

func effectiveCSRF(c csrf.Config) csrf.Config {
	if c.CookieName == "" {
		c.CookieName = csrf.DefaultCookieName
	}
	if c.CookiePath == "" {
		c.CookiePath = "/"
	}
	if c.CookieMaxAge == 0 {
		c.CookieMaxAge = csrf.DefaultCookieMaxAge
	}
	if c.CookieSameSite == "" {
		c.CookieSameSite = "lax"
	}
	if c.HeaderName == "" {
		c.HeaderName = csrf.DefaultHeaderName
	}
	if c.MaxFormBytes == 0 {
		c.MaxFormBytes = csrf.DefaultMaxFormBytes
	}
	return c
}

func effectiveSession(c session.Config) session.Config {
	if c.Lifetime == 0 {
		c.Lifetime = session.DefaultLifetime
	}
	if m, err := session.New(c); err == nil {
		c.Cookie.Name = m.CookieName()
	}
	if c.Cookie.Path == "" {
		c.Cookie.Path = "/"
	}
	if c.Cookie.SameSite == "" && !c.Cookie.AllowInsecureNoSameSite {
		c.Cookie.SameSite = "Lax"
	}
	return c
}

func effectiveUploads(c UploadsConfig) UploadsConfig {
	if c.Policy.Allow == nil {
		c.Policy.Allow = append([]string(nil), upload.DefaultAllow...)
	}
	if c.Policy.MaxPixels == 0 {
		c.Policy.MaxPixels = upload.DefaultMaxPixels
	}
	if c.RawBodies == "" {
		c.RawBodies = upload.RawInspect
	}
	if c.Storage.Dir != "" {
		if c.Storage.FilePermissions == 0 {
			c.Storage.FilePermissions = fs.FileMode(0o644)
		}
		if c.Storage.DirectoryPermissions == 0 {
			c.Storage.DirectoryPermissions = fs.FileMode(0o755)
		}
	}
	return c
}
