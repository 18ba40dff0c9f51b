package whiptest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InNetns re-runs the named test inside `unshare -n` (a network namespace
// of its own, with lo up) and reports whether the caller is already in it
// and should do the work; when it returns false the test has run in the
// namespace and the caller returns. Namespaces need root: CI runs as root
// and must not skip; elsewhere the test skips with the reason.
func InNetns(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv("GLASSAGENT_IN_NETNS") != "" {
		Sh(t, "ip", "link", "set", "lo", "up")
		return true
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run as root to make network namespaces")
		}
		t.Skip("needs root to make a network namespace (unshare -n)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is missing: %v", err)
	}
	cmd := exec.Command("unshare", "-n", os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GLASSAGENT_IN_NETNS=1")
	out, err := cmd.CombinedOutput()
	// The software encoder's rate-control warnings drown the figures.
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.Contains(l, "[OpenH264]") {
			keep = append(keep, l)
		}
	}
	t.Logf("in the namespace:\n%s", strings.Join(keep, "\n"))
	if err != nil {
		t.Fatalf("%s in its namespace failed: %v", name, err)
	}
	return false
}

// Sh runs a command (tc, nft, ip) and fails the test with its output if it
// fails. Call it from the test's goroutine.
func Sh(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
