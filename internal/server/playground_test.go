package server

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

var emulatorConsole = ConsoleConfig{ProjectID: "demo-tenantry", APIKey: "local-emulator-key", AuthEmulatorURL: "http://127.0.0.1:9099"}

func consoleServer(t *testing.T, c ConsoleConfig) *httptest.Server {
	mux := http.NewServeMux()
	mountPlayground(mux, c)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

var (
	htmlRef   = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*["']([^"']*)["']`)
	cssURL    = regexp.MustCompile(`url\(\s*["']?([^"')]*)`)
	jsImport  = regexp.MustCompile(`(?:\bimport\s*\(\s*|\bfrom\s*|\bimport\s*)["']([^"']+)["']`)
	absURL    = regexp.MustCompile(`(?:https?:)?//[a-zA-Z0-9][a-zA-Z0-9.-]*\.[a-zA-Z]{2,}`)
	schemeURL = regexp.MustCompile(`https?://[a-zA-Z0-9][a-zA-Z0-9.-]*`)
)

// localRef is a reference the browser resolves against the server itself.
func localRef(ref string) bool {
	return strings.HasPrefix(ref, "data:") || (!strings.Contains(ref, "//") && !strings.Contains(ref, ":"))
}

// pageReferences lists what an HTML page makes the browser load from another host.
func pageReferences(html string) []string {
	var out []string
	for _, m := range htmlRef.FindAllStringSubmatch(html, -1) {
		if !localRef(m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// The check below would have caught the page this console replaces: gqlgen's playground loads
// GraphiQL from a CDN.
func TestPageReferencesCatchACDNPage(t *testing.T) {
	rec := httptest.NewRecorder()
	playground.Handler("Tenantry", "/graphql").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/playground", nil))
	if refs := pageReferences(rec.Body.String()); len(refs) == 0 {
		t.Fatalf("pageReferences found no external reference in gqlgen's CDN playground:\n%s", rec.Body.String())
	}
}

// GET /playground serves the embedded console: the page, every asset it names, and the
// configuration, all from this server.
func TestPlaygroundServesTheEmbeddedConsole(t *testing.T) {
	srv := consoleServer(t, emulatorConsole)
	res, html := get(t, srv.URL+"/playground")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /playground: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if refs := pageReferences(html); len(refs) > 0 {
		t.Errorf("the console page references other hosts: %v", refs)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q: want scripts and everything else from this server only", csp)
	}
	var assets []string
	for _, m := range htmlRef.FindAllStringSubmatch(html, -1) {
		if strings.HasPrefix(m[1], "/playground/assets/") {
			assets = append(assets, m[1])
		}
	}
	if len(assets) < 2 {
		t.Fatalf("the page names %d assets, want its script and stylesheet:\n%s", len(assets), html)
	}
	for _, a := range assets {
		res, body := get(t, srv.URL+a)
		if res.StatusCode != http.StatusOK || len(body) == 0 || res.Header.Get("Cache-Control") == "" {
			t.Errorf("GET %s: %d, %d bytes, Cache-Control %q", a, res.StatusCode, len(body), res.Header.Get("Cache-Control"))
		}
	}

	res, body := get(t, srv.URL+"/playground/config.json")
	var got struct {
		ConsoleConfig
		GraphQLURL string `json:"graphqlURL"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /playground/config.json: %d %s (%v)", res.StatusCode, body, err)
	}
	if got.ConsoleConfig != emulatorConsole || got.GraphQLURL != "/graphql" {
		t.Errorf("config.json %+v, want %+v with graphqlURL /graphql", got, emulatorConsole)
	}
}

// The hosts whose names appear as strings in the bundle, and why each is not a page load. A new
// host fails the test until someone looks: a CDN loader must never slip in.
var knownHosts = map[string]string{
	"identitytoolkit.googleapis.com":                 "Firebase Auth's API: sign-in in production (the Auth emulator locally)",
	"securetoken.googleapis.com":                     "Firebase Auth's token refresh in production",
	"staging-identitytoolkit.sandbox.googleapis.com": "Firebase Auth SDK's internal test endpoints, never used",
	"test-identitytoolkit.sandbox.googleapis.com":    "Firebase Auth SDK's internal test endpoints, never used",
	"apis.google.com":                                "Google's popup script, loaded only when a production user presses Sign in with Google (CSP allows it only then)",
	"www.google.com":                                 "reCAPTCHA for phone sign-in, which the console does not offer",
	"www.w3.org":                                     "XML namespaces (SVG), not fetched",
	"react.dev":                                      "links in React's error messages",
	"github.com":                                     "a link in a library's error message",
	"yarnpkg.com":                                    "a link in a library's error message",
	"en.wikipedia.org":                               "a link in markdown rendering code",
	"commonmark.org":                                 "a link in markdown rendering code",
	"codemirror.net":                                 "a link in CodeMirror's error message",
	"localhost":                                      "URL parsing defaults, not fetched",
}

// The embedded HTML, CSS and JavaScript load nothing from another host: the page's script and
// stylesheet, the CSS's url()s (fonts are inlined) and every module import are on this server.
func TestPlaygroundAssetsReferenceNoOtherHost(t *testing.T) {
	files, err := fs.Sub(playgroundFiles, "playground")
	if err != nil {
		t.Fatal(err)
	}
	var scripts, sheets int
	err = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		text := string(b)
		switch {
		case strings.HasSuffix(path, ".html"):
			for _, ref := range pageReferences(text) {
				t.Errorf("%s references %s", path, ref)
			}
		case strings.HasSuffix(path, ".css"):
			sheets++
			for _, m := range cssURL.FindAllStringSubmatch(text, -1) {
				if !localRef(m[1]) {
					t.Errorf("%s loads url(%s)", path, m[1])
				}
			}
		case strings.HasSuffix(path, ".js"):
			scripts++
			for _, m := range jsImport.FindAllStringSubmatch(text, -1) {
				if absURL.MatchString(m[1]) {
					t.Errorf("%s imports %s", path, m[1])
				}
			}
		}
		for _, u := range schemeURL.FindAllString(text, -1) {
			host := u[strings.Index(u, "//")+2:]
			if _, ok := knownHosts[host]; !ok {
				t.Errorf("%s names %s: if the page never loads from it, add it to knownHosts with the reason; if it does, bundle it instead", path, u)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scripts == 0 || sheets == 0 {
		t.Fatalf("the embedded build has %d scripts and %d stylesheets: run npm run build -w tenantry-sales-console", scripts, sheets)
	}
}

func TestConsoleCSP(t *testing.T) {
	for _, c := range []struct {
		name    string
		config  ConsoleConfig
		want    []string
		notWant []string
	}{
		{"the Auth emulator", emulatorConsole, []string{"connect-src 'self' http://127.0.0.1:9099;", "script-src 'self';", "frame-src 'none'"}, []string{"googleapis", "apis.google.com"}},
		{"production", ConsoleConfig{ProjectID: "acme", APIKey: "AIza", AuthDomain: "acme.firebaseapp.com"},
			[]string{"connect-src 'self' https://identitytoolkit.googleapis.com https://securetoken.googleapis.com;", "script-src 'self' https://apis.google.com;", "frame-src https://acme.firebaseapp.com;"}, nil},
		{"sign-in not configured", ConsoleConfig{ProjectID: "acme"}, []string{"connect-src 'self';", "script-src 'self';"}, []string{"googleapis"}},
	} {
		csp := consoleCSP(c.config)
		for _, w := range c.want {
			if !strings.Contains(csp+";", w) {
				t.Errorf("%s: CSP %q lacks %q", c.name, csp, w)
			}
		}
		for _, n := range c.notWant {
			if strings.Contains(csp, n) {
				t.Errorf("%s: CSP %q allows %q", c.name, csp, n)
			}
		}
	}
}

// GraphiQL loads the schema with the standard introspection query (15 levels deep); the depth
// limit on the API's own fields must not refuse it, and must still refuse deep API queries.
func TestDepthLimitLetsTheConsoleIntrospect(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { a: A } type A { b: A, leaf: Int }`})
	limit := depthLimit{max: 10}
	deepMeta := "{ __schema { types { " + strings.Repeat("ofType { ", 20) + "name" + strings.Repeat(" }", 20) + " } } }"
	for _, c := range []struct {
		name, query string
		refused     bool
	}{
		{"GraphiQL's introspection query", introspection.Query, false},
		{"an API query deeper than the limit", "{ a { " + strings.Repeat("b { ", 10) + "leaf" + strings.Repeat(" }", 10) + " } }", true},
		{"an introspection query deeper than its own limit", deepMeta, true},
	} {
		doc, err := gqlparser.LoadQueryWithRules(schema, c.query, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		gerr := limit.MutateOperationContext(context.Background(), &graphql.OperationContext{Operation: doc.Operations[0], Doc: doc})
		if (gerr != nil) != c.refused {
			t.Errorf("%s: refused %v (%v), want refused %v", c.name, gerr != nil, gerr, c.refused)
		}
	}
}
