package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

// sharedDir returns ../shared/clr relative to the repository root.
func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedclr.Dir(t)
}

var allAlgorithms = []string{Ed25519, ECDSAP256, ECDSAP384, RSA2048, RSA3072}

func TestGenerateMarshalParseRoundTrip(t *testing.T) {
	for _, alg := range allAlgorithms {
		t.Run(alg, func(t *testing.T) {
			k, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Algorithm(k.Public())
			if err != nil || got != alg {
				t.Fatalf("Algorithm = %q, %v; want %q", got, err, alg)
			}
			pemBytes, err := MarshalPrivateKeyPEM(k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Fatalf("not a PKCS#8 PEM block: %.40s", pemBytes)
			}
			parsed, err := ParsePrivateKeyPEM(pemBytes)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(parsed.Public(), k.Public()) {
				t.Fatal("parsed key differs from generated key")
			}
			// The parsed key signs, and the original public key verifies.
			msg := []byte("clr-operator")
			digest := sha256.Sum256(msg)
			switch pub := k.Public().(type) {
			case ed25519.PublicKey:
				sig, err := parsed.Sign(rand.Reader, msg, crypto.Hash(0))
				if err != nil || !ed25519.Verify(pub, msg, sig) {
					t.Fatalf("Ed25519 sign/verify failed: %v", err)
				}
			case *ecdsa.PublicKey:
				sig, err := parsed.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil || !ecdsa.VerifyASN1(pub, digest[:], sig) {
					t.Fatalf("ECDSA sign/verify failed: %v", err)
				}
			case *rsa.PublicKey:
				sig, err := parsed.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
					t.Fatalf("RSA sign/verify failed: %v", err)
				}
			}
		})
	}
}

func TestParsePrivateKeyPEMOtherEncodings(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	// openssl ecparam -genkey writes an EC PARAMETERS block first.
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 5, 43, 129, 4, 0, 34}})
	doc := append(params, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...)
	k, err := ParsePrivateKeyPEM(doc)
	if err != nil {
		t.Fatalf("SEC1: %v", err)
	}
	if !Equal(k.Public(), &ec.PublicKey) {
		t.Fatal("SEC1 key differs")
	}

	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k, err = ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	if err != nil {
		t.Fatalf("PKCS#1: %v", err)
	}
	if !Equal(k.Public(), &rk.PublicKey) {
		t.Fatal("PKCS#1 key differs")
	}
}

func TestParsePrivateKeyPEMRejects(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	pk8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1 := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	good := pk8(edPriv)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrInvalidPEM},
		{"not PEM", []byte("hello"), ErrInvalidPEM},
		{"certificate only", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), ErrInvalidPEM},
		{"RSA 1024 PKCS#8", pk8(small), ErrUnsupportedKey},
		{"RSA 1024 PKCS#1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}), ErrUnsupportedKey},
		{"P-224 PKCS#8", pk8(p224), ErrUnsupportedKey},
		{"P-521 SEC1", sec1(p521), ErrUnsupportedKey},
		{"truncated PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2}}), ErrInvalidPEM},
		{"encrypted PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), ErrInvalidPEM},
		{"legacy encrypted", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), ErrInvalidPEM},
		{"garbage SEC1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("xx")}), ErrInvalidPEM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := ParsePrivateKeyPEM(good); err != nil {
		t.Fatalf("control key rejected: %v", err)
	}
	if _, err := Generate("RSA-1024"); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("Generate(RSA-1024) err = %v", err)
	}
}

// RFC 7638 §3.1 example.
func TestThumbprintRFC7638(t *testing.T) {
	jwk := map[string]any{
		"kty": "RSA",
		"n":   "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		"e":   "AQAB",
		"alg": "RS256",
		"kid": "2011-04-29",
	}
	const want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	got, err := JWKThumbprint(jwk)
	if err != nil || got != want {
		t.Fatalf("JWKThumbprint = %q, %v; want %q", got, err, want)
	}
	pub, err := ParsePublicJWK(jwk)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Thumbprint(pub); err != nil || got != want {
		t.Fatalf("Thumbprint(parsed key) = %q, %v; want %q", got, err, want)
	}
	if alg, _ := Algorithm(pub); alg != RSA2048 {
		t.Fatalf("Algorithm = %q", alg)
	}
}

// RFC 8037 appendix A.1-A.3.
func TestThumbprintRFC8037(t *testing.T) {
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	priv := ed25519.NewKeyFromSeed(seed)
	jwk, err := PublicJWK(priv)
	if err != nil {
		t.Fatal(err)
	}
	if jwk["x"] != "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" || jwk["crv"] != "Ed25519" || jwk["kty"] != "OKP" || len(jwk) != 3 {
		t.Fatalf("PublicJWK = %v", jwk)
	}
	got, err := Thumbprint(priv.Public())
	if err != nil || got != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Fatalf("Thumbprint = %q, %v", got, err)
	}
}

func TestPublicJWKRoundTripAndNoPrivateMembers(t *testing.T) {
	for _, alg := range allAlgorithms {
		k, err := Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		jwk, err := PublicJWK(k) // a Signer: must still yield only public members
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := jwk[m]; ok {
				t.Fatalf("%s: private member %q in public JWK", alg, m)
			}
		}
		raw, _ := json.Marshal(jwk)
		pub, err := ParsePublicJWKJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if !Equal(pub, k.Public()) {
			t.Fatalf("%s: JWK round trip changed the key", alg)
		}
		t1, _ := Thumbprint(k.Public())
		t2, _ := JWKThumbprint(jwk)
		if t1 != t2 || len(t1) != 43 {
			t.Fatalf("%s: thumbprints %q %q", alg, t1, t2)
		}
	}
	withPrivate := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}
	if _, err := ParsePublicJWK(withPrivate); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("JWK with d accepted: %v", err)
	}
	if _, err := ParsePublicJWK(map[string]any{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("bad EC point accepted: %v", err)
	}
	if _, err := ParsePublicJWK(map[string]any{"kty": "oct", "k": "AAAA"}); err == nil {
		t.Fatal("symmetric JWK accepted")
	}
}

type vector struct {
	PublicKeyHex       string `json:"publicKeyHex"`
	PrivateKeyHex      string `json:"privateKeyHex"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

func TestTestVectorKeys(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "test-vectors", "*", "vector.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test vectors found: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		if v.PrivateKeyHex == "" {
			// obv3p0 only publishes the proof; it uses the same key as clrv2p0.
			continue
		}
		privBytes, _ := hex.DecodeString(v.PrivateKeyHex)
		pubBytes, _ := hex.DecodeString(v.PublicKeyHex)
		priv := ed25519.PrivateKey(privBytes)
		if !bytes.Equal(priv.Public().(ed25519.PublicKey), pubBytes) {
			t.Fatalf("%s: private key does not match public key", f)
		}
		mk, err := Multikey(priv.Public())
		if err != nil || mk != v.PublicKeyMultibase {
			t.Fatalf("%s: Multikey = %q, %v; want %q", f, mk, err, v.PublicKeyMultibase)
		}
		back, err := ParseMultikey(v.PublicKeyMultibase)
		if err != nil || !Equal(back, priv.Public()) {
			t.Fatalf("%s: ParseMultikey: %v", f, err)
		}
		// PEM round trip of the vector key as cert-manager would store it.
		pemBytes, err := MarshalPrivateKeyPEM(priv)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParsePrivateKeyPEM(pemBytes)
		if err != nil || !Equal(k.Public(), priv.Public()) {
			t.Fatalf("%s: PEM round trip: %v", f, err)
		}
	}
}

func TestMultikey(t *testing.T) {
	// did:key test vectors from the did:key spec (Ed25519 and P-256).
	for _, mk := range []string{
		"z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
	} {
		pub, err := ParseMultikey(mk)
		if err != nil {
			t.Fatalf("%s: %v", mk, err)
		}
		again, err := Multikey(pub)
		if err != nil || again != mk {
			t.Fatalf("re-encode %s = %q, %v", mk, again, err)
		}
	}
	for _, alg := range []string{Ed25519, ECDSAP256, ECDSAP384} {
		k, _ := Generate(alg)
		mk, err := Multikey(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		wantPrefix := map[string]string{Ed25519: "z6Mk", ECDSAP256: "zDn", ECDSAP384: "z82"}[alg]
		if !strings.HasPrefix(mk, wantPrefix) {
			t.Fatalf("%s Multikey %q lacks prefix %q", alg, mk, wantPrefix)
		}
		back, err := ParseMultikey(mk)
		if err != nil || !Equal(back, k.Public()) {
			t.Fatalf("%s round trip: %v", alg, err)
		}
	}
	rk, _ := Generate(RSA2048)
	if _, err := Multikey(rk.Public()); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("RSA Multikey err = %v", err)
	}
	for _, bad := range []string{"", "u6Mk", "z0OIl", "z6Mk", "z1111"} {
		if _, err := ParseMultikey(bad); err == nil {
			t.Fatalf("ParseMultikey(%q) accepted", bad)
		}
	}
}

func TestBase58(t *testing.T) {
	cases := map[string]string{
		"":                       "",
		"\x00":                   "1",
		"\x00\x00\x01":           "112",
		"hello world":            "StV1DL6CwTryKyV",
		"\x00\x00\x00\x00hello":  "1111Cn8eVZg",
		"The quick brown fox ju": "",
	}
	for in, want := range cases {
		got := Base58Encode([]byte(in))
		if want != "" && got != want {
			t.Fatalf("Base58Encode(%q) = %q, want %q", in, got, want)
		}
		back, err := Base58Decode(got)
		if err != nil || string(back) != in {
			t.Fatalf("Base58Decode(%q) = %q, %v", got, back, err)
		}
	}
	for i := 0; i < 200; i++ {
		b := make([]byte, i%70)
		rand.Read(b)
		if i%5 == 0 && len(b) > 2 {
			b[0], b[1] = 0, 0
		}
		back, err := Base58Decode(Base58Encode(b))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %x failed: %x %v", b, back, err)
		}
	}
}
