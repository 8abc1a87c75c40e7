package dataintegrity

import (
	"encoding/asn1"
	"math/big"
)

func parseDERInt(der []byte, r, s *big.Int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, err
	}
	r.Set(sig.R)
	s.Set(sig.S)
	return rest, nil
}
