package localcluster

import (
	"fmt"
	"net/http"
	"net/url"
)

// Ingress is an http.RoundTripper standing in for the Ingress controller
// and DNS of a real installation: a request to a tenant's public host
// (https, as in credentials, DIDs and OAuth redirects) goes to its local
// process over plain HTTP with the headers an Ingress adds; any other
// request (an OpenID Connect provider) goes out unchanged through Base.
// Clients then speak only public URLs, so that Secure cookies, redirects
// and RFC 9207 issuer checks are as in production.
type Ingress struct {
	// Routes maps a public host (records.cascadia-state.edu) to the local
	// host:port of its process.
	Routes map[string]string
	// Base carries the requests (http.DefaultTransport when nil).
	Base http.RoundTripper
}

// AddRoute routes the host of publicURL to 127.0.0.1:port.
func (in *Ingress) AddRoute(publicURL string, port int) error {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("public URL %q: not an absolute URL", publicURL)
	}
	if in.Routes == nil {
		in.Routes = map[string]string{}
	}
	in.Routes[u.Host] = fmt.Sprintf("127.0.0.1:%d", port)
	return nil
}

// RoundTrip implements http.RoundTripper.
func (in *Ingress) RoundTrip(req *http.Request) (*http.Response, error) {
	base := in.Base
	if base == nil {
		base = http.DefaultTransport
	}
	local, ok := in.Routes[req.URL.Host]
	if !ok {
		return base.RoundTrip(req)
	}
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("ingress: %s: the tenants are served over https only", req.URL.Redacted())
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host = "http", local
	r.Host = req.URL.Host
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", req.URL.Host)
	r.Header.Set("X-Forwarded-For", "127.0.0.1")
	return base.RoundTrip(r)
}
