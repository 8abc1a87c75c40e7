package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"
)

// Multicodec prefixes (unsigned varint) of the public key types a Multikey
// can carry here.
var (
	codecEd25519 = []byte{0xed, 0x01} // ed25519-pub 0xed
	codecP256    = []byte{0x80, 0x24} // p256-pub 0x1200
	codecP384    = []byte{0x81, 0x24} // p384-pub 0x1201
)

// Multikey encodes a public key as a Multikey publicKeyMultibase value:
// multibase base58btc ('z') of the multicodec prefix and the raw key
// (Ed25519: 32 bytes; P-256/P-384: the compressed SEC1 point).
func Multikey(pub crypto.PublicKey) (string, error) {
	pub = PublicKey(pub)
	if _, err := Algorithm(pub); err != nil {
		return "", err
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return MultibaseEncode(append(append([]byte{}, codecEd25519...), k...)), nil
	case *ecdsa.PublicKey:
		raw, err := k.Bytes()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		n := (len(raw) - 1) / 2
		x, y := new(big.Int).SetBytes(raw[1:1+n]), new(big.Int).SetBytes(raw[1+n:])
		compressed := elliptic.MarshalCompressed(k.Curve, x, y)
		prefix := codecP256
		if k.Curve == elliptic.P384() {
			prefix = codecP384
		}
		return MultibaseEncode(append(append([]byte{}, prefix...), compressed...)), nil
	}
	return "", fmt.Errorf("%w: no Multikey encoding for %T", ErrUnsupportedKey, pub)
}

// ParseMultikey decodes a publicKeyMultibase value (Multikey, or the
// Ed25519VerificationKey2020 encoding, which is the same for Ed25519).
func ParseMultikey(s string) (crypto.PublicKey, error) {
	data, err := MultibaseDecode(s)
	if err != nil {
		return nil, err
	}
	if len(data) < 2 {
		return nil, fmt.Errorf("%w: Multikey too short", ErrInvalidKey)
	}
	prefix, key := data[:2], data[2:]
	switch {
	case prefix[0] == codecEd25519[0] && prefix[1] == codecEd25519[1]:
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 Multikey of %d bytes", ErrInvalidKey, len(key))
		}
		return ed25519.PublicKey(append([]byte{}, key...)), nil
	case prefix[0] == codecP256[0] && prefix[1] == codecP256[1]:
		return parseCompressed(elliptic.P256(), key)
	case prefix[0] == codecP384[0] && prefix[1] == codecP384[1]:
		return parseCompressed(elliptic.P384(), key)
	}
	return nil, fmt.Errorf("%w: Multikey codec 0x%x", ErrUnsupportedKey, prefix)
}

func parseCompressed(curve elliptic.Curve, key []byte) (crypto.PublicKey, error) {
	x, y := elliptic.UnmarshalCompressed(curve, key)
	if x == nil {
		// Some producers publish the uncompressed point; accept it.
		k, err := ecdsa.ParseUncompressedPublicKey(curve, key)
		if err != nil {
			return nil, fmt.Errorf("%w: %s Multikey point", ErrInvalidKey, curve.Params().Name)
		}
		return k, nil
	}
	size := (curve.Params().BitSize + 7) / 8
	raw := make([]byte, 1+2*size)
	raw[0] = 4
	x.FillBytes(raw[1 : 1+size])
	y.FillBytes(raw[1+size:])
	k, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s Multikey point: %v", ErrInvalidKey, curve.Params().Name, err)
	}
	return k, nil
}

// MultibaseEncode encodes data as multibase base58btc: 'z' + base58btc.
func MultibaseEncode(data []byte) string {
	return "z" + Base58Encode(data)
}

// MultibaseDecode decodes a multibase base58btc ('z') string.
func MultibaseDecode(s string) ([]byte, error) {
	if len(s) == 0 || s[0] != 'z' {
		return nil, fmt.Errorf("%w: multibase value must be base58btc ('z' prefix)", ErrInvalidKey)
	}
	b, err := Base58Decode(s[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return b, nil
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() [256]int8 {
	var idx [256]int8
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

// Base58Encode encodes data in the Bitcoin base58 alphabet.
func Base58Encode(data []byte) string {
	zeros := 0
	for zeros < len(data) && data[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) ≈ 1.37
	out := make([]byte, (len(data)-zeros)*138/100+1)
	high := len(out) - 1
	for _, b := range data[zeros:] {
		carry := int(b)
		j := len(out) - 1
		for ; j > high || carry != 0; j-- {
			carry += 256 * int(out[j])
			out[j] = byte(carry % 58)
			carry /= 58
		}
		high = j
	}
	i := 0
	for i < len(out) && out[i] == 0 {
		i++
	}
	res := make([]byte, zeros+len(out)-i)
	for k := 0; k < zeros; k++ {
		res[k] = '1'
	}
	for k, v := range out[i:] {
		res[zeros+k] = base58Alphabet[v]
	}
	return string(res)
}

// ErrBase58 is returned for a character outside the base58 alphabet.
var ErrBase58 = errors.New("invalid base58 character")

// Base58Decode decodes a Bitcoin-alphabet base58 string.
func Base58Decode(s string) ([]byte, error) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// log(58)/log(256) ≈ 0.733
	out := make([]byte, (len(s)-zeros)*733/1000+1)
	high := len(out) - 1
	for i := zeros; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("%w %q at %d", ErrBase58, s[i], i)
		}
		carry := int(v)
		j := len(out) - 1
		for ; j > high || carry != 0; j-- {
			carry += 58 * int(out[j])
			out[j] = byte(carry % 256)
			carry /= 256
		}
		high = j
	}
	i := 0
	for i < len(out) && out[i] == 0 {
		i++
	}
	res := make([]byte, zeros+len(out)-i)
	copy(res[zeros:], out[i:])
	return res, nil
}
