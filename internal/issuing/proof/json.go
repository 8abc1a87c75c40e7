package proof

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// marshal writes JSON without HTML escaping, so that stored credentials read
// naturally ("<" stays "<"); the bytes are what GET returns.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("marshal credential: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Marshal is the JSON encoding used for everything this host signs and stores.
func Marshal(v any) ([]byte, error) { return marshal(v) }
