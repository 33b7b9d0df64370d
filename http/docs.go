package http

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
)

// The docs page lists every operation of the OpenAPI document. huma's own
// docs renderers load their JavaScript from a CDN at runtime, which a locker
// site's network may block and which we do not want to trust; this page is
// rendered on the server and loads nothing from anywhere.

// docsCSP forbids the page every resource but its inline style.
const docsCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type docsOperation struct {
	Method, Path, Summary, Description string
	Secured                            bool
	Params                             []string
	Body                               string
	Statuses                           []string
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} {{.Version}}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #111; background: #fff; }
h2 { font-size: 1.1rem; margin: 2rem 0 .25rem; }
code, .method { font-family: ui-monospace, monospace; }
.method { font-weight: bold; }
.meta { color: #333; font-size: .9rem; }
</style>
</head>
<body>
<main>
<h1>{{.Title}} <small>{{.Version}}</small></h1>
<p>{{.Description}}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1), <a href="/openapi.yaml">/openapi.yaml</a>.</p>
{{range .Operations}}
<section>
<h2><span class="method">{{.Method}}</span> <code>{{.Path}}</code></h2>
<p><strong>{{.Summary}}</strong>{{if .Secured}} (API key required){{end}}</p>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<p class="meta">
{{if .Params}}Parameters: {{range $i, $p := .Params}}{{if $i}}, {{end}}<code>{{$p}}</code>{{end}}.<br>{{end}}
{{if .Body}}Request body: <code>{{.Body}}</code>.<br>{{end}}
Responses: {{range $i, $s := .Statuses}}{{if $i}}, {{end}}{{$s}}{{end}}.
</p>
</section>
{{end}}
</main>
</body>
</html>
`))

func (s *Server) registerDocsRoutes() {
	var once sync.Once
	var page []byte
	s.mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		// Render on first use: routes registered after this one must show.
		once.Do(func() { page = s.renderDocs() })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", docsCSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(page)
	})
}

func (s *Server) renderDocs() []byte {
	oapi := s.api.OpenAPI()
	var ops []docsOperation
	for path, item := range oapi.Paths {
		for method, op := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
		} {
			if op != nil {
				ops = append(ops, describeOperation(method, path, op))
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	var buf bytes.Buffer
	err := docsTemplate.Execute(&buf, map[string]any{
		"Title": oapi.Info.Title, "Version": oapi.Info.Version, "Description": oapi.Info.Description,
		"Operations": ops,
	})
	if err != nil {
		// The template and its data are ours; a failure is a bug.
		panic("http: render docs: " + err.Error())
	}
	return buf.Bytes()
}

func describeOperation(method, path string, op *huma.Operation) docsOperation {
	d := docsOperation{Method: method, Path: path, Summary: op.Summary, Description: op.Description,
		Secured: len(op.Security) > 0}
	for _, p := range op.Parameters {
		d.Params = append(d.Params, p.In+"."+p.Name)
	}
	if op.RequestBody != nil {
		if mt := op.RequestBody.Content["application/json"]; mt != nil && mt.Schema != nil {
			d.Body = strings.TrimPrefix(mt.Schema.Ref, "#/components/schemas/")
		}
	}
	for status := range op.Responses {
		d.Statuses = append(d.Statuses, status)
	}
	slices.Sort(d.Statuses)
	return d
}
