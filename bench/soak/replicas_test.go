//go:build soak

package soak

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
)

// buildTenantry builds the tenantry binary into the test's temporary directory.
func buildTenantry(t *testing.T) string {
	t.Helper()
	bin, out, err := testenv.BuildTenantry(t.TempDir(), "../..")
	if err != nil {
		t.Fatalf("go build ./cmd/tenantry: %v\n%s", err, out)
	}
	return bin
}

// startReplicas runs n `tenantry serve` processes with env on free 127.0.0.1 ports, waits until
// each answers /healthz, and stops them (SIGTERM, then SIGKILL after 20s) when the test ends.
// Their logs go to logDir/replica-<i>.log.
func startReplicas(t *testing.T, bin string, env []string, n int, logDir string) []string {
	t.Helper()
	urls := make([]string, n)
	for i := range n {
		port := testenv.FreePort(t)
		logf, err := os.Create(filepath.Join(logDir, fmt.Sprintf("replica-%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(env, "HOST=127.0.0.1", "PORT="+strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatalf("start replica %d: %v", i, err)
		}
		t.Cleanup(func() { stopProcess(cmd); _ = logf.Close() })
		urls[i] = "http://127.0.0.1:" + strconv.Itoa(port)
		waitHealthy(t, urls[i])
	}
	return urls
}

func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not healthy after 60s: %v", base, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startBalancer is a round-robin reverse proxy over the replicas on 127.0.0.1.
func startBalancer(t *testing.T, replicas []string) string {
	t.Helper()
	targets := make([]*url.URL, len(replicas))
	for i, r := range replicas {
		targets[i], _ = url.Parse(r)
	}
	var next atomic.Uint64
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(targets[next.Add(1)%uint64(len(targets))])
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}
