package localcluster

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A public https URL reaches the local process with the Ingress headers;
// other hosts go out unchanged, and plain http to a tenant is refused.
func TestIngressRoutesPublicHosts(t *testing.T) {
	tenant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tenant "+r.Host+" "+r.URL.Path+" "+r.Header.Get("X-Forwarded-Proto")+" "+r.Header.Get("X-Forwarded-Host"))
	}))
	defer tenant.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "other "+r.Header.Get("X-Forwarded-Proto"))
	}))
	defer other.Close()
	in := &Ingress{}
	if err := in.AddRoute("https://www.riverbend.edu/records", tenant.Listener.Addr().(*net.TCPAddr).Port); err != nil {
		t.Fatal(err)
	}
	if err := in.AddRoute("not a url", 1); err == nil {
		t.Error("a relative public URL was accepted")
	}
	c := &http.Client{Transport: in}
	get := func(u string) (string, error) {
		resp, err := c.Get(u)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if got, err := get("https://www.riverbend.edu/records/ims/clr/v2p0/discovery"); err != nil || got != "tenant www.riverbend.edu /records/ims/clr/v2p0/discovery https www.riverbend.edu" {
		t.Errorf("routed request: %q %v", got, err)
	}
	if got, err := get(other.URL + "/x"); err != nil || got != "other " {
		t.Errorf("unrouted request: %q %v", got, err)
	}
	if _, err := get("http://www.riverbend.edu/records/"); err == nil || !strings.Contains(err.Error(), "https only") {
		t.Errorf("plain http to a tenant: %v", err)
	}
}
