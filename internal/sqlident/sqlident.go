// Package sqlident checks the table and schema names the SQL stores take
// from configuration: they are interpolated, quoted, into statements, so
// only plain identifiers are accepted.
package sqlident

import "fmt"

// MaxPostgres is PostgreSQL's identifier length (NAMEDATALEN - 1).
const MaxPostgres = 63

// Valid reports whether s is an ASCII letter or underscore followed by
// letters, digits or underscores, at most max bytes long.
func Valid(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckPostgres reports the first of a PostgreSQL store's table and schema
// names that is set but not an identifier (the table at most maxTable
// bytes, leaving room for derived index names), prefixed with pkg.
func CheckPostgres(pkg, schema, table string, maxTable int) error {
	if table != "" && !Valid(table, maxTable) {
		return fmt.Errorf("%s: table name %q is not an identifier (letters, digits, underscores; at most %d)", pkg, table, maxTable)
	}
	if schema != "" && !Valid(schema, MaxPostgres) {
		return fmt.Errorf("%s: schema name %q is not an identifier (letters, digits, underscores; at most %d)", pkg, schema, MaxPostgres)
	}
	return nil
}
