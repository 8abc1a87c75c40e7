package jose

import (
	"encoding/asn1"
	"fmt"
	"math/big"
)

// derToJOSE converts an ASN.1 ECDSA signature to the JWS form r||s.
func derToJOSE(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("ECDSA signature encoding: %v", err)
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}
