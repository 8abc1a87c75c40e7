package status

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedclr.Dir(t)
}

func TestBitstringRoundTrip(t *testing.T) {
	b, err := NewBitstring(10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != MinEntries {
		t.Fatalf("Len = %d, want %d", b.Len(), MinEntries)
	}
	set := map[int]bool{0: true, 7: true, 8: true, 23: true, 131071: true}
	for i := range set {
		if err := b.Set(i, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Set(MinEntries, true); !errors.Is(err, ErrIndexRange) {
		t.Fatalf("Set out of range: %v", err)
	}
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if enc[0] != 'u' {
		t.Fatalf("encodedList %q lacks the multibase 'u' prefix", enc[:8])
	}
	got, err := DecodeBitstring(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < got.Len(); i++ {
		v, _ := got.Get(i)
		if v != set[i] {
			t.Fatalf("bit %d = %v, want %v", i, v, set[i])
		}
	}
	// Bit 0 is the most significant bit of byte 0, as the specification orders it.
	if raw := got.Bytes(); raw[0] != 0x81 || raw[1] != 0x80 {
		t.Fatalf("bit order: bytes % x", raw[:2])
	}
	if err := got.Set(0, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Get(0); v {
		t.Fatal("clear did not clear")
	}
}

// The official validator's test list has exactly bit 23 set.
func TestDecodeValidatorTestList(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedDir(t), "examples/ob30/bit-string-list/testlist"))
	if err != nil {
		t.Fatal(err)
	}
	var cred map[string]any
	if err := json.Unmarshal(raw, &cred); err != nil {
		t.Fatal(err)
	}
	enc := cred["credentialSubject"].(map[string]any)["encodedList"].(string)
	b, err := DecodeBitstring(enc)
	if err != nil {
		t.Fatal(err)
	}
	var setBits []int
	for i := 0; i < b.Len(); i++ {
		if v, _ := b.Get(i); v {
			setBits = append(setBits, i)
		}
	}
	if fmt.Sprint(setBits) != "[23]" {
		t.Fatalf("set bits %v, want [23]", setBits)
	}
}

func gz(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func TestDecodeBitstringErrors(t *testing.T) {
	short := "u" + base64.RawURLEncoding.EncodeToString(gz(t, make([]byte, 100)))
	bomb := "u" + base64.RawURLEncoding.EncodeToString(gz(t, make([]byte, MaxEntries/8+1)))
	padded := "u" + base64.URLEncoding.EncodeToString(gz(t, make([]byte, MinEntries/8)))
	legacy := base64.RawURLEncoding.EncodeToString(gz(t, make([]byte, MinEntries/8)))
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrDecode},
		{"base58 prefix", "z" + legacy, ErrDecode},
		{"bad base64", "u!!!!", ErrDecode},
		{"not gzip", "u" + base64.RawURLEncoding.EncodeToString([]byte("hello world, not gzip")), ErrDecode},
		{"truncated gzip", "u" + base64.RawURLEncoding.EncodeToString(gz(t, make([]byte, MinEntries/8))[:20]), ErrDecode},
		{"too short", short, ErrTooShort},
		{"gzip bomb", bomb, ErrTooLarge},
		{"padded ok", padded, nil},
		{"legacy StatusList2021 ok", legacy, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBitstring(c.in)
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseEntry(t *testing.T) {
	good := map[string]any{"type": TypeBitstringEntry, "statusPurpose": "revocation",
		"statusListIndex": "94567", "statusListCredential": "https://x/list"}
	e, err := ParseEntry(good)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.Index(); n != 94567 {
		t.Fatalf("index %d", n)
	}
	numeric := map[string]any{"type": TypeBitstringEntry, "statusPurpose": "revocation",
		"statusListIndex": float64(23), "statusListCredential": "https://x/list"}
	if e, err := ParseEntry(numeric); err != nil || e.StatusListIndex != "23" {
		t.Fatalf("numeric index: %v %v", e, err)
	}
	bad := []map[string]any{
		{"type": "StatusList2021Entry", "statusPurpose": "revocation", "statusListIndex": "1", "statusListCredential": "u"},
		{"type": TypeBitstringEntry, "statusListIndex": "1", "statusListCredential": "u"},
		{"type": TypeBitstringEntry, "statusPurpose": "revocation", "statusListIndex": "-1", "statusListCredential": "u"},
		{"type": TypeBitstringEntry, "statusPurpose": "revocation", "statusListIndex": "1x", "statusListCredential": "u"},
		{"type": TypeBitstringEntry, "statusPurpose": "revocation", "statusListIndex": 1.5, "statusListCredential": "u"},
		{"type": TypeBitstringEntry, "statusPurpose": "revocation", "statusListIndex": "1"},
		{"type": TypeBitstringEntry, "statusPurpose": "revocation", "statusListIndex": "1", "statusListCredential": "u", "statusSize": 2.0},
	}
	for i, b := range bad {
		if _, err := ParseEntry(b); !errors.Is(err, ErrEntry) {
			t.Errorf("bad[%d]: err = %v", i, err)
		}
	}
}

func TestAllocateIndexUniqueAndFull(t *testing.T) {
	alloc, _ := NewBitstring(MinEntries)
	rnd := rand.NewChaCha8([32]byte{1})
	seen := map[int]bool{}
	for range 2000 {
		i, err := AllocateIndex(alloc, rnd)
		if err != nil {
			t.Fatal(err)
		}
		if seen[i] {
			t.Fatalf("index %d allocated twice", i)
		}
		seen[i] = true
	}
	// Fill all but one and check the scan finds the last free index.
	for i := 0; i < alloc.Len(); i++ {
		alloc.Set(i, true)
	}
	alloc.Set(4242, false)
	if i, err := AllocateIndex(alloc, rnd); err != nil || i != 4242 {
		t.Fatalf("last free index: %d %v", i, err)
	}
	if _, err := AllocateIndex(alloc, rnd); err == nil {
		t.Fatal("allocation from a full list succeeded")
	}
}

// mapFetcher serves documents from memory: the resolver's resource-override
// mode does the same in production (clr-server's own lists).
type mapFetcher map[string][]byte

func (m mapFetcher) Fetch(_ context.Context, url string) ([]byte, error) {
	if b, ok := m[url]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("GET %s: connection refused", url)
}

func TestCheckerThreeStates(t *testing.T) {
	const issuer = "did:example:issuer"
	rev, _ := NewList("https://s/rev", issuer, PurposeRevocation)
	sus, _ := NewList("https://s/sus", issuer, PurposeSuspension)
	rev.Bits.Set(5, true)
	sus.Bits.Set(6, true)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	docs := mapFetcher{}
	for _, l := range []*List{rev, sus} {
		c, err := l.Credential(now, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		docs[l.ID], _ = json.Marshal(c)
	}
	otherIssuer, _ := NewList("https://s/other", "did:example:mallory", PurposeRevocation)
	c, _ := otherIssuer.Credential(now, time.Time{})
	docs[otherIssuer.ID], _ = json.Marshal(c)
	docs["https://s/garbage"] = []byte(`{"type":["VerifiableCredential","BitstringStatusListCredential"],"issuer":"did:example:issuer","credentialSubject":{"type":"BitstringStatusList","statusPurpose":"revocation","encodedList":"uAAAA"}}`)
	docs["https://s/revoc-list"], _ = json.Marshal(RevocationList{ID: "https://s/revoc-list", RevokedCredentials: []RevokedCredential{{ID: "urn:uuid:gone", RevocationReason: "diploma mill"}}})

	verifyCalls := 0
	// The lists are "signed" by listKey; only the list at /s/unbound is
	// not bound to its issuer.
	listKey, _, _ := ed25519.GenerateKey(nil)
	otherKey, _, _ := ed25519.GenerateKey(nil)
	checker := &Checker{Fetcher: docs, VerifyList: func(_ context.Context, raw []byte) (*VerifiedList, error) {
		verifyCalls++
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		if m["id"] == "https://s/rejected" {
			return nil, errors.New("proof invalid")
		}
		return &VerifiedList{Credential: m, Keys: []crypto.PublicKey{listKey}, Bound: m["id"] != "https://s/unbound"}, nil
	}}
	unboundList, _ := NewList("https://s/unbound", issuer, PurposeRevocation)
	c, _ = unboundList.Credential(now, time.Time{})
	docs[unboundList.ID], _ = json.Marshal(c)
	rejectedList, _ := NewList("https://s/rejected", issuer, PurposeRevocation)
	c, _ = rejectedList.Credential(now, time.Time{})
	docs[rejectedList.ID], _ = json.Marshal(c)

	entry := func(l *List, i int) map[string]any {
		b, _ := json.Marshal(l.Entry(i))
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	cred := func(id string, st any) map[string]any {
		return map[string]any{"id": id, "issuer": map[string]any{"id": issuer}, "credentialStatus": st}
	}
	wrongPurpose := entry(rev, 1)
	wrongPurpose["statusPurpose"] = PurposeSuspension
	rejected := entry(rev, 1)
	rejected["statusListCredential"] = "https://s/rejected"
	garbage := entry(rev, 1)
	garbage["statusListCredential"] = "https://s/garbage"
	unreachable := entry(rev, 1)
	unreachable["statusListCredential"] = "https://s/missing"
	outOfRange := entry(rev, 1)
	outOfRange["statusListIndex"] = fmt.Sprint(MinEntries + 8)
	cases := []struct {
		name string
		cred map[string]any
		want State
	}{
		{"clear", cred("a", entry(rev, 4)), Valid},
		{"revoked", cred("a", entry(rev, 5)), Revoked},
		{"suspended", cred("a", entry(sus, 6)), Suspended},
		{"suspension clear", cred("a", entry(sus, 5)), Valid},
		{"both lists, one revoked", cred("a", []any{entry(sus, 1), entry(rev, 5)}), Revoked},
		{"wrong purpose", cred("a", wrongPurpose), Unknown},
		{"list by another issuer", cred("a", entry(otherIssuer, 1)), Unknown},
		{"list not verified", cred("a", rejected), Unknown},
		{"list not decodable", cred("a", garbage), Unknown},
		{"unreachable", cred("a", unreachable), Unknown},
		{"index out of range", cred("a", outOfRange), Unknown},
		{"unsupported type", cred("a", map[string]any{"type": "CredentialStatusList2017", "id": "x"}), Unknown},
		{"entry not object", cred("a", "https://s/rev"), Unknown},
		{"1EdTech revoked", cred("urn:uuid:gone", map[string]any{"id": "https://s/revoc-list", "type": Type1EdTechRevocationList}), Revoked},
		{"1EdTech not listed", cred("urn:uuid:ok", map[string]any{"id": "https://s/revoc-list", "type": Type1EdTechRevocationList}), Valid},
		{"1EdTech unreachable", cred("urn:uuid:ok", map[string]any{"id": "https://s/nope", "type": Type1EdTechRevocationList}), Unknown},
		{"1EdTech no credential id", cred("", map[string]any{"id": "https://s/revoc-list", "type": Type1EdTechRevocationList}), Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := checker.Check(context.Background(), c.cred, otherKey)
			if got := Overall(res); got != c.want {
				t.Fatalf("state %s, want %s (%+v)", got, c.want, res)
			}
		})
	}
	// A list signed by a self-certifying key is trusted only when that key
	// also signed the credential.
	if got := Overall(checker.Check(context.Background(), cred("a", entry(unboundList, 1)), otherKey)); got != Unknown {
		t.Errorf("unbound list, other credential key: %s", got)
	}
	if got := Overall(checker.Check(context.Background(), cred("a", entry(unboundList, 1)), listKey)); got != Valid {
		t.Errorf("unbound list, same key as the credential: %s", got)
	}
	if verifyCalls != 6 {
		t.Errorf("list verifications = %d, want 6 (one per distinct fetched list)", verifyCalls)
	}
	if res := checker.Check(context.Background(), map[string]any{"id": "x"}); res != nil {
		t.Errorf("no credentialStatus: %v", res)
	}
	// Without a list verifier a bitstring entry proves nothing.
	bare := &Checker{Fetcher: docs}
	if got := Overall(bare.Check(context.Background(), cred("a", entry(rev, 4)))); got != Unknown {
		t.Errorf("unverified list: %s", got)
	}
}

func FuzzDecodeBitstring(f *testing.F) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(make([]byte, MinEntries/8))
	zw.Close()
	f.Add("u" + base64.RawURLEncoding.EncodeToString(buf.Bytes()))
	f.Add("uH4sIAAAAAAAA_-3BMQEAAAzDoMy_6cnoA9QFAAAAAAAAAAAAAAAAAAAAbD3uPa2cAEAAAA")
	f.Add("H4sIAAAAAAAA_-3BMQ0AAAACIGf_0MbwARoAAAAAAAAAAAAAAAAAAADgbbmHB0sAQAAA")
	f.Add("")
	f.Add("u")
	f.Add("zQmFoo")
	f.Add("uAAAA====")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBitstring(s)
		if err != nil {
			if b != nil {
				t.Fatal("non-nil list with error")
			}
			return
		}
		if b.Len() < MinEntries || b.Len() > MaxEntries {
			t.Fatalf("decoded length %d outside bounds", b.Len())
		}
		// A decoded list re-encodes to something that decodes to the same bits.
		enc, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeBitstring(enc)
		if err != nil || !bytes.Equal(again.Bytes(), b.Bytes()) {
			t.Fatalf("re-encode round trip failed: %v", err)
		}
	})
}
