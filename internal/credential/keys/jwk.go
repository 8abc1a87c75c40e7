package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

var b64 = base64.RawURLEncoding

// PublicJWK returns the public JWK members of a supported key (RFC 7517,
// RFC 8037 for Ed25519): kty, crv, x, y for EC/OKP, kty, n, e for RSA. It
// never includes private members; a crypto.Signer is reduced to its public key.
func PublicJWK(pub crypto.PublicKey) (map[string]any, error) {
	pub = PublicKey(pub)
	if _, err := Algorithm(pub); err != nil {
		return nil, err
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(k)}, nil
	case *ecdsa.PublicKey:
		x, y, crv, err := ecCoordinates(k)
		if err != nil {
			return nil, err
		}
		return map[string]any{"kty": "EC", "crv": crv, "x": x, "y": y}, nil
	case *rsa.PublicKey:
		return map[string]any{
			"kty": "RSA",
			"n":   b64.EncodeToString(k.N.Bytes()),
			"e":   b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		}, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

func ecCoordinates(k *ecdsa.PublicKey) (x, y, crv string, err error) {
	// Uncompressed point: 0x04 || X || Y, each coordinate padded to the
	// field size as RFC 7518 §6.2.1.2 requires.
	raw, err := k.Bytes()
	if err != nil {
		return "", "", "", fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	n := (len(raw) - 1) / 2
	switch k.Curve {
	case elliptic.P256():
		crv = "P-256"
	case elliptic.P384():
		crv = "P-384"
	default:
		return "", "", "", fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	}
	return b64.EncodeToString(raw[1 : 1+n]), b64.EncodeToString(raw[1+n:]), crv, nil
}

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of the public key,
// base64url without padding. It is the key id (kid) used in JWS headers, the
// operator's keyring and DID verification method fragments.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk, err := PublicJWK(pub)
	if err != nil {
		return "", err
	}
	return JWKThumbprint(jwk)
}

// JWKThumbprint computes the RFC 7638 SHA-256 thumbprint of a JWK given as
// members: only the required members of its kty, in lexicographic order,
// without whitespace.
func JWKThumbprint(jwk map[string]any) (string, error) {
	kty, _ := jwk["kty"].(string)
	var members []string
	switch kty {
	case "OKP":
		members = []string{"crv", "kty", "x"}
	case "EC":
		members = []string{"crv", "kty", "x", "y"}
	case "RSA":
		members = []string{"e", "kty", "n"}
	default:
		return "", fmt.Errorf("%w: JWK kty %q", ErrUnsupportedKey, kty)
	}
	buf := []byte{'{'}
	for i, m := range members {
		v, ok := jwk[m].(string)
		if !ok || v == "" {
			return "", fmt.Errorf("%w: JWK member %q missing", ErrInvalidKey, m)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		// json.Marshal of a string never fails; the members are base64url
		// or short names, but escaping keeps arbitrary input well-formed.
		kb, _ := json.Marshal(m)
		vb, _ := json.Marshal(v)
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = append(buf, vb...)
	}
	buf = append(buf, '}')
	sum := sha256.Sum256(buf)
	return b64.EncodeToString(sum[:]), nil
}

// ParsePublicJWK parses a public JWK (as members or JSON) into a supported
// public key. Private members ("d", "p", ...) are refused so that a private
// key pasted by mistake is never treated as a published key.
func ParsePublicJWK(jwk map[string]any) (crypto.PublicKey, error) {
	for _, priv := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := jwk[priv]; ok {
			return nil, fmt.Errorf("%w: JWK carries private member %q", ErrInvalidKey, priv)
		}
	}
	str := func(name string) ([]byte, error) {
		s, ok := jwk[name].(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("%w: JWK member %q missing", ErrInvalidKey, name)
		}
		b, err := b64.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: JWK member %q: %v", ErrInvalidKey, name, err)
		}
		return b, nil
	}
	kty, _ := jwk["kty"].(string)
	crv, _ := jwk["crv"].(string)
	var pub crypto.PublicKey
	switch kty {
	case "OKP":
		if crv != "Ed25519" {
			return nil, fmt.Errorf("%w: OKP curve %q", ErrUnsupportedKey, crv)
		}
		x, err := str("x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 x of %d bytes", ErrInvalidKey, len(x))
		}
		pub = ed25519.PublicKey(x)
	case "EC":
		var curve elliptic.Curve
		switch crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("%w: EC curve %q", ErrUnsupportedKey, crv)
		}
		x, err := str("x")
		if err != nil {
			return nil, err
		}
		y, err := str("y")
		if err != nil {
			return nil, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, fmt.Errorf("%w: %s coordinates must be %d bytes", ErrInvalidKey, crv, size)
		}
		raw := append(append([]byte{4}, x...), y...)
		k, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s point: %v", ErrInvalidKey, crv, err)
		}
		pub = k
	case "RSA":
		n, err := str("n")
		if err != nil {
			return nil, err
		}
		e, err := str("e")
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, fmt.Errorf("%w: RSA exponent too large", ErrInvalidKey)
		}
		ev := int(new(big.Int).SetBytes(e).Int64())
		if ev < 3 || ev%2 == 0 {
			return nil, fmt.Errorf("%w: RSA exponent %d", ErrInvalidKey, ev)
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: ev}
	default:
		return nil, fmt.Errorf("%w: JWK kty %q", ErrUnsupportedKey, kty)
	}
	if _, err := Algorithm(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// ParsePublicJWKJSON is ParsePublicJWK for a JSON-encoded JWK.
func ParsePublicJWKJSON(data []byte) (crypto.PublicKey, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: JWK JSON: %v", ErrInvalidKey, err)
	}
	return ParsePublicJWK(m)
}
