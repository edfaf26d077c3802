package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildTenantry builds ./cmd/tenantry of the module at moduleRoot into dir and returns the
// binary's path, or go build's output with the error.
func BuildTenantry(dir, moduleRoot string) (bin string, out []byte, err error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin = filepath.Join(dir, "tenantry")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/tenantry")
	cmd.Dir = moduleRoot
	out, err = cmd.CombinedOutput()
	return bin, out, err
}

// FreePort is a 127.0.0.1 port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
