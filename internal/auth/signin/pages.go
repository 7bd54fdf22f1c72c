package signin

import (
	"html/template"
	"net/http"
)

// The pages are small and self-contained (no scripts, no external
// resources: the Content-Security-Policy forbids both).
const pageStyle = `<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
code,pre{background:#f3f3f3;padding:.2rem .4rem;border-radius:4px;word-break:break-all}pre{padding:.8rem;white-space:pre-wrap}
.warn{color:#8a4b00}a.button{display:inline-block;padding:.5rem 1rem;border:1px solid #333;border-radius:4px;margin:.3rem 0;text-decoration:none;color:#000}</style>`

type resultData struct {
	Provider, Account, Password, Registry, Expires, Revalidate, UI string
}

var resultPage = template.Must(template.New("result").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Wharf registry password</title>` + pageStyle + `</head><body>
<h1>Signed in with {{.Provider}}</h1>
<p>Your registry user name is <code id="account">{{.Account}}</code>, and your registry password is</p>
<pre id="password">{{.Password}}</pre>
<p class="warn">It is shown this once: Wharf keeps only its hash. Signing in again makes a new one and ends this one.</p>
<p>Log in with:</p>
<pre>docker login {{.Registry}} -u {{.Account}} --password-stdin</pre>
<p>and paste the password. It works until {{.Expires}}, as long as {{.Provider}} still admits you
(Wharf asks again every {{.Revalidate}}).</p>
{{if .UI}}<p>The same user name and password sign you in to the <a id="ui" href="{{.UI}}">web interface</a>.</p>{{end}}
</body></html>
`))

type errorData struct {
	Provider, Message, Start string
}

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Wharf sign-in</title>` + pageStyle + `</head><body>
<h1>Sign-in with {{.Provider}} did not complete</h1>
<p>{{.Message}}</p>
{{if .Start}}<p><a class="button" href="{{.Start}}">Sign in again</a></p>{{end}}
</body></html>
`))

// Choice is one provider on the index page.
type Choice struct {
	Title, Path string
}

var indexPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Wharf sign-in</title>` + pageStyle + `</head><body>
<h1>Sign in to the registry</h1>
<p>Sign in with your account to get a password for <code>docker login</code>.</p>
{{range .}}<p><a class="button" href="{{.Path}}">Sign in with {{.Title}}</a></p>
{{end}}</body></html>
`))

// Index serves a page linking to each provider's sign-in.
func Index(choices []Choice) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = indexPage.Execute(w, choices)
	}
}
