package oauth

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// pageData feeds the one HTML template of the login, consent and error pages.
type pageData struct {
	Service string
	Title   string
	Error   string
	Client  clientInfo
	Scopes  []scopeInfo
	// Learner is the signed-in learner (consent page).
	Learner string
	// DevForm shows the development username field.
	DevForm bool
	Action  string
	Request string
	CSRF    string
	// Message is the body of an error page.
	Message string
}

type clientInfo struct {
	Name      string
	URI       string
	PolicyURI string
	TOSURI    string
}

type scopeInfo struct {
	Scope       string
	Description string
}

func clientView(c *store.Client) clientInfo {
	info := clientInfo{Name: c.Name}
	var md clientMetadata
	if err := jsonUnmarshal(c.Metadata, &md); err == nil {
		info.URI, info.PolicyURI, info.TOSURI = md.ClientURI, md.PolicyURI, md.TOSURI
	}
	return info
}

func scopeViews(scopes []string) []scopeInfo {
	out := make([]scopeInfo, 0, len(scopes))
	for _, sc := range scopes {
		out = append(out, scopeInfo{Scope: sc, Description: ScopeDescriptions[sc]})
	}
	return out
}

// page is accessible without JavaScript: landmarks, labelled inputs, a
// fieldset for the choice, visible focus, and text that names the client and
// each permission in words.
var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — {{.Service}}</title>
<style>
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:36rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;border:1px solid #d0d7de}
h1{font-size:1.4rem}
.error{border-left:4px solid #b42318;padding:.5rem 1rem;background:#fef3f2}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text]{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}
button{font-size:1rem;padding:.5rem 1.2rem;margin:1rem .5rem 0 0;cursor:pointer}
button:focus,input:focus,a:focus{outline:3px solid #1f6feb;outline-offset:2px}
fieldset{border:0;padding:0}
code{font-size:.8rem;color:#57606a;word-break:break-all}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>
{{else}}
<p><strong>{{.Client.Name}}</strong>{{if .Client.URI}} (<a href="{{.Client.URI}}" rel="noopener noreferrer">{{.Client.URI}}</a>){{end}}
asks for access to your records on {{.Service}}.</p>
{{if .Learner}}<p>You are signed in as <strong>{{.Learner}}</strong>.</p>{{end}}
<h2>It will be allowed to:</h2>
<ul>
{{range .Scopes}}<li>{{.Description}}<br><code>{{.Scope}}</code></li>
{{end}}</ul>
{{if or .Client.PolicyURI .Client.TOSURI}}<p>Read the application's
{{if .Client.PolicyURI}}<a href="{{.Client.PolicyURI}}" rel="noopener noreferrer">privacy policy</a>{{end}}
{{if and .Client.PolicyURI .Client.TOSURI}} and {{end}}
{{if .Client.TOSURI}}<a href="{{.Client.TOSURI}}" rel="noopener noreferrer">terms of service</a>{{end}}.</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.Request}}">
{{if .CSRF}}<input type="hidden" name="csrf" value="{{.CSRF}}">{{end}}
{{if .DevForm}}
<p>Development mode: no identity provider is configured. Enter any learner's username to sign in as that learner and approve.</p>
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required maxlength="128" autofocus>
<input type="hidden" name="decision" value="approve">
<button type="submit">Sign in and allow</button>
{{else}}
<fieldset>
<legend>Do you allow this?</legend>
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</fieldset>
{{end}}
</form>
{{end}}
</main>
</body>
</html>
`))

// renderPage writes an HTML page with headers that forbid framing
// (clickjacking of the consent form) and any script.
func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	d.Service = s.opts.ServiceName
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		s.log.Error("rendering page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows an error to the learner (never redirected: the redirect
// target is not trusted when this is used).
func (s *Server) errorPage(w http.ResponseWriter, status int, msg string) {
	s.renderPage(w, status, pageData{Title: "This request cannot be completed", Message: msg})
}
