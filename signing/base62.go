package signing

import "errors"

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// B62Encode encodes n in Django's base62 (alphabet 0-9A-Za-z, a leading
// '-' for negative numbers), the timestamp format of TimestampSigner.
func B62Encode(n int64) string {
	if n == 0 {
		return "0"
	}
	var buf [12]byte
	i := len(buf)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	for u > 0 {
		i--
		buf[i] = base62Alphabet[u%62]
		u /= 62
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

var errBase62 = errors.New("signing: invalid base62 number")

// B62Decode decodes Django's base62. It rejects the empty string, unknown
// characters and values that do not fit in an int64 (Python's integers do
// not overflow; a timestamp that large can only come from a forged or
// corrupted value).
func B62Decode(s string) (int64, error) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if s == "" || len(s) > 11 {
		return 0, errBase62
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'A' <= c && c <= 'Z':
			d = c - 'A' + 10
		case 'a' <= c && c <= 'z':
			d = c - 'a' + 36
		default:
			return 0, errBase62
		}
		if u > (1<<63-1-uint64(d))/62 {
			return 0, errBase62
		}
		u = u*62 + uint64(d)
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}
