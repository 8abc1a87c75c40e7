package issuingtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// Do sends body (JSON-encoded when not nil) with client c and returns the
// response and its whole body; a transport error fails the test.
func Do(t TB, c *http.Client, method, url string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encoding the request body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("building %s %s: %v", method, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response of %s %s: %v", method, url, err)
	}
	return resp, data
}
