// Package status implements credential status: the W3C Bitstring Status List
// v1.0 (encoding, entries, list credentials) and the 1EdTech Revocation List
// status method of Open Badges 3.0 / CLR 2.0, with a three-state check
// (valid, revoked or suspended, unknown).
package status

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MinEntries is the minimum length of a status list in entries (bits): the
// W3C Bitstring Status List's herd-privacy floor of 16 KiB.
const MinEntries = 131072

// MaxEntries bounds a decoded list (16 MiB of bits, 128 Mi entries) so that a
// small gzip bomb cannot exhaust memory.
const MaxEntries = 1 << 27

var (
	// ErrDecode: an encodedList is not multibase base64url GZIP data.
	ErrDecode = errors.New("status list not decodable")
	// ErrTooShort: a decoded list has fewer than MinEntries entries.
	ErrTooShort = errors.New("status list shorter than the minimum of 131072 entries")
	// ErrTooLarge: a decoded list exceeds MaxEntries.
	ErrTooLarge = errors.New("status list too large")
	// ErrIndexRange: an index lies outside the list.
	ErrIndexRange = errors.New("status list index out of range")
)

// Bitstring is a status list: bit i is the most significant bit of byte
// i/8 shifted by i%8, as the W3C specification orders them (index 0 is the
// left-most bit).
type Bitstring struct {
	bits []byte
}

// NewBitstring returns an all-zero list of at least n entries (and at least
// MinEntries), rounded up to whole bytes.
func NewBitstring(n int) (*Bitstring, error) {
	if n < MinEntries {
		n = MinEntries
	}
	if n > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries (maximum %d)", ErrTooLarge, n, MaxEntries)
	}
	return &Bitstring{bits: make([]byte, (n+7)/8)}, nil
}

// Len is the number of entries.
func (b *Bitstring) Len() int { return len(b.bits) * 8 }

// Get reports whether entry i is set.
func (b *Bitstring) Get(i int) (bool, error) {
	if i < 0 || i >= b.Len() {
		return false, fmt.Errorf("%w: %d not in [0, %d)", ErrIndexRange, i, b.Len())
	}
	return b.bits[i/8]&(0x80>>(uint(i)%8)) != 0, nil
}

// Set sets (v = true) or clears entry i.
func (b *Bitstring) Set(i int, v bool) error {
	if i < 0 || i >= b.Len() {
		return fmt.Errorf("%w: %d not in [0, %d)", ErrIndexRange, i, b.Len())
	}
	mask := byte(0x80 >> (uint(i) % 8))
	if v {
		b.bits[i/8] |= mask
	} else {
		b.bits[i/8] &^= mask
	}
	return nil
}

// Bytes returns a copy of the raw bits (for persisting a list).
func (b *Bitstring) Bytes() []byte { return bytes.Clone(b.bits) }

// FromBytes wraps raw bits read back from storage.
func FromBytes(raw []byte) (*Bitstring, error) {
	if len(raw)*8 < MinEntries {
		return nil, fmt.Errorf("%w: %d entries", ErrTooShort, len(raw)*8)
	}
	if len(raw)*8 > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries", ErrTooLarge, len(raw)*8)
	}
	return &Bitstring{bits: bytes.Clone(raw)}, nil
}

// Encode returns the encodedList value: 'u' (multibase base64url without
// padding) followed by the GZIP-compressed bits.
func (b *Bitstring) Encode() (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", fmt.Errorf("gzip status list: %w", err)
	}
	if _, err := zw.Write(b.bits); err != nil {
		return "", fmt.Errorf("gzip status list: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("gzip status list: %w", err)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// DecodeBitstring expands an encodedList. It accepts the multibase forms of
// the W3C specification ('u' base64url, also with padding) and, for lists
// written to the older StatusList2021 draft, bare base64url starting with the
// GZIP magic ("H4sI"). The list must hold between MinEntries and MaxEntries
// entries.
func DecodeBitstring(encoded string) (*Bitstring, error) {
	var payload string
	switch {
	case strings.HasPrefix(encoded, "u"):
		payload = encoded[1:]
	case strings.HasPrefix(encoded, "H4sI"):
		payload = encoded
	case encoded == "":
		return nil, fmt.Errorf("%w: empty encodedList", ErrDecode)
	default:
		return nil, fmt.Errorf("%w: multibase prefix %q is not 'u' (base64url)", ErrDecode, encoded[:1])
	}
	payload = strings.TrimRight(payload, "=")
	compressed, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: base64url: %v", ErrDecode, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrDecode, err)
	}
	// Read one byte beyond the maximum to tell "exactly the maximum" from
	// "larger".
	raw, err := io.ReadAll(io.LimitReader(zr, MaxEntries/8+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrDecode, err)
	}
	if len(raw) > MaxEntries/8 {
		return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, MaxEntries)
	}
	if len(raw)*8 < MinEntries {
		return nil, fmt.Errorf("%w: %d entries", ErrTooShort, len(raw)*8)
	}
	return &Bitstring{bits: raw}, nil
}
