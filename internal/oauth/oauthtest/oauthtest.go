// Package oauthtest drives clr-server's authorization server the way a
// browser and a registering application do, for end-to-end tests: RFC 7591
// registration, fetching the login or consent page, parsing its HTML form
// (golang.org/x/net/html) and submitting it exactly as rendered.
package oauthtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Form is an HTML form as a browser would submit it.
type Form struct {
	// Action is resolved against the page URL.
	Action string
	Method string
	// Fields are the successful controls of the form without a submit
	// button: hidden and text inputs with their rendered values.
	Fields url.Values
	// Buttons are the named submit buttons, name → values.
	Buttons url.Values
	// Labels maps input ids to their label text (accessibility checks).
	Labels map[string]string
	// TextInputs are the names of visible text inputs.
	TextInputs []string
}

// ParseForm returns the first form of an HTML page at base.
func ParseForm(page []byte, base *url.URL) (*Form, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("parsing HTML: %w", err)
	}
	var form *html.Node
	labels := map[string]string{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && form == nil {
			form = n
		}
		if n.Type == html.ElementNode && n.Data == "label" {
			labels[attr(n, "for")] = strings.TrimSpace(text(n))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if form == nil {
		return nil, errors.New("the page has no form")
	}
	action, err := base.Parse(attr(form, "action"))
	if err != nil {
		return nil, fmt.Errorf("form action: %w", err)
	}
	f := &Form{Action: action.String(), Method: strings.ToUpper(attr(form, "method")), Fields: url.Values{}, Buttons: url.Values{}, Labels: labels}
	if f.Method == "" {
		f.Method = http.MethodGet
	}
	var fields func(n *html.Node)
	fields = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "input":
				name := attr(n, "name")
				switch t := strings.ToLower(attr(n, "type")); {
				case name == "":
				case t == "submit":
					f.Buttons.Add(name, attr(n, "value"))
				case t == "checkbox" || t == "radio":
					if hasAttr(n, "checked") {
						f.Fields.Add(name, attr(n, "value"))
					}
				default:
					f.Fields.Add(name, attr(n, "value"))
					if t == "" || t == "text" {
						f.TextInputs = append(f.TextInputs, name)
					}
				}
			case "button":
				if name := attr(n, "name"); name != "" && (attr(n, "type") == "" || attr(n, "type") == "submit") {
					f.Buttons.Add(name, attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			fields(c)
		}
	}
	fields(form)
	return f, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// Browser is a cookie-keeping HTTP client that does not follow redirects,
// so that the test sees each step of the authorization.
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Page is a fetched page.
type Page struct {
	URL      *url.URL
	Status   int
	Body     []byte
	Header   http.Header
	Location *url.URL
}

// Get fetches a URL with the browser.
func Get(ctx context.Context, b *http.Client, target string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	return do(b, req)
}

// Submit submits a form with the given fields (Form.Fields plus extra, plus
// one button when button names it).
func Submit(ctx context.Context, b *http.Client, f *Form, extra url.Values) (*Page, error) {
	v := url.Values{}
	for k, vs := range f.Fields {
		v[k] = append([]string(nil), vs...)
	}
	for k, vs := range extra {
		v[k] = vs
	}
	req, err := http.NewRequestWithContext(ctx, f.Method, f.Action, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(b, req)
}

func do(b *http.Client, req *http.Request) (*Page, error) {
	resp, err := b.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	p := &Page{URL: req.URL, Status: resp.StatusCode, Body: body, Header: resp.Header}
	if loc := resp.Header.Get("Location"); loc != "" {
		if p.Location, err = req.URL.Parse(loc); err != nil {
			return nil, fmt.Errorf("bad Location %q: %w", loc, err)
		}
	}
	return p, nil
}

// DevLogin runs the development login: fetch the authorization page, fill
// the username field of its form, submit the form as rendered, and return
// the redirect back to the client (carrying code and state, or an error).
func DevLogin(ctx context.Context, b *http.Client, authURL, username string) (*url.URL, error) {
	page, err := Get(ctx, b, authURL)
	if err != nil {
		return nil, err
	}
	if page.Status != http.StatusOK {
		return nil, fmt.Errorf("authorization page: status %d: %s", page.Status, page.Body)
	}
	f, err := ParseForm(page.Body, page.URL)
	if err != nil {
		return nil, err
	}
	if _, ok := f.Fields["username"]; !ok {
		return nil, errors.New("the authorization page has no username field")
	}
	res, err := Submit(ctx, b, f, url.Values{"username": {username}})
	if err != nil {
		return nil, err
	}
	if res.Status != http.StatusFound || res.Location == nil {
		return nil, fmt.Errorf("dev login: status %d, no redirect: %s", res.Status, res.Body)
	}
	return res.Location, nil
}

// Register registers a client (RFC 7591) and returns the response.
func Register(ctx context.Context, registerURL string, metadata map[string]any) (map[string]any, int, error) {
	body, err := json.Marshal(metadata)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, registerURL, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("registration response: %w", err)
	}
	return out, resp.StatusCode, nil
}
