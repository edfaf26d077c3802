package server

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

// The sales console: GraphiQL with a Firebase sign-in panel, built from web/playground (npm run
// build -w tenantry-sales-console) into playground/ and embedded, so the page loads nothing from
// another host and works offline and behind a strict network.
//
//go:embed all:playground
var playgroundFiles embed.FS

// ConsoleConfig is the Firebase web configuration the console signs in with, served as
// /playground/config.json (nothing in it is secret).
type ConsoleConfig struct {
	ProjectID  string `json:"projectId"`
	APIKey     string `json:"apiKey"` // "" when sign-in is not configured
	AuthDomain string `json:"authDomain"`
	// AuthEmulatorURL is the Auth emulator's base URL, e.g. http://127.0.0.1:9099; "" in production.
	AuthEmulatorURL string `json:"authEmulatorURL"`
}

// Google's sign-in hosts, which the Firebase Auth SDK calls in production (never for the page).
var firebaseAuthHosts = []string{"https://identitytoolkit.googleapis.com", "https://securetoken.googleapis.com"}

// mountPlayground serves the console: the page at /playground, its hashed assets, and its
// configuration. The page is public; every operation it sends is authorized like any other.
func mountPlayground(mux *http.ServeMux, c ConsoleConfig) {
	files, err := fs.Sub(playgroundFiles, "playground")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic("internal/server/playground/index.html is missing: run npm run build -w tenantry-sales-console")
	}
	csp := consoleCSP(c)
	mux.HandleFunc("GET /playground", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(index)
	})
	mux.HandleFunc("GET /playground/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/playground", http.StatusMovedPermanently)
	})
	assets := http.StripPrefix("/playground/", http.FileServerFS(files))
	mux.HandleFunc("GET /playground/assets/", func(w http.ResponseWriter, r *http.Request) {
		// Vite names each asset after its content hash, so an asset never changes.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		assets.ServeHTTP(w, r)
	})
	config, _ := json.Marshal(struct {
		ConsoleConfig
		GraphQLURL string `json:"graphqlURL"`
	}{c, "/graphql"})
	mux.HandleFunc("GET /playground/config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(config)
	})
}

// consoleCSP allows the page to load from this server only. Sign-in talks to the Auth emulator
// locally, and to Google's sign-in hosts in production, where Google sign-in also needs Google's
// popup script and the project's auth domain in a frame.
func consoleCSP(c ConsoleConfig) string {
	connect := []string{"'self'"}
	script := []string{"'self'"}
	frame := []string{"'none'"}
	switch {
	case c.AuthEmulatorURL != "":
		connect = append(connect, origin(c.AuthEmulatorURL))
	case c.APIKey != "":
		connect = append(connect, firebaseAuthHosts...)
		script = append(script, "https://apis.google.com")
		if c.AuthDomain != "" {
			frame = []string{"https://" + c.AuthDomain}
		}
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src " + strings.Join(script, " "),
		"style-src 'self' 'unsafe-inline'", // the editors set inline styles
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src " + strings.Join(connect, " "),
		"frame-src " + strings.Join(frame, " "),
		"worker-src 'self' blob:",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// origin is scheme://host[:port] of a URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
