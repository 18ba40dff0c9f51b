package whiptest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
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
	// The child times out 30 s before its parent: a child that hangs
	// would otherwise hold the parent until go test kills it, with no word
	// of where the child was stuck. Timing out first, the child prints its
	// goroutines, which the log below carries. No cap of its own: `make
	// soak` and bench-faults run children for half an hour and more under
	// a longer -timeout; a parent without a deadline gives none (0).
	var timeout time.Duration
	if d, ok := t.Deadline(); ok {
		if timeout = time.Until(d) - 30*time.Second; timeout <= 0 {
			t.Fatalf("no time left to run %s in its namespace", name)
		}
	}
	cmd := exec.Command("unshare", "-n", os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1", "-test.timeout="+timeout.String())
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

// EthernetLoopback gives the namespace's loopback an Ethernet MTU: TCP on
// lo sends segments of up to 64 KB, which tbf (burst 32 kbit) can never
// pass, so a cut link would stall TCP completely instead of slowing it;
// and 1500 is what the glasses' Wi-Fi path has. gso_max_size too: with the
// MTU alone, loopback's segmentation offload still hands the qdisc buffers
// of up to 64 KB, which tbf splits but htb (ShapePort) queues whole, and a
// bfifo of a few kilobytes drops whole.
func EthernetLoopback(t testing.TB) {
	t.Helper()
	Sh(t, "ip", "link", "set", "lo", "mtu", "1500", "gso_max_size", "1500")
}

// ShapePort limits what the namespace's loopback carries to one port
// (proto "udp" or "tcp", the destination port) to rate bit/s, with a FIFO
// of queue bytes; everything else, the other direction included, passes
// unshaped (htb, a u32 filter). Undo it by deleting the root qdisc.
func ShapePort(t testing.TB, proto string, port, rate, queue int) {
	t.Helper()
	num := map[string]string{"udp": "17", "tcp": "6"}[proto]
	if num == "" {
		t.Fatalf("ShapePort: protocol %q, want udp or tcp", proto)
	}
	r := fmt.Sprintf("%dbit", rate)
	Sh(t, "tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10")
	Sh(t, "tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit")
	Sh(t, "tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", r, "ceil", r, "burst", "4k", "cburst", "4k")
	Sh(t, "tc", "qdisc", "add", "dev", "lo", "parent", "1:20", "bfifo", "limit", strconv.Itoa(queue))
	Sh(t, "tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
		"match", "ip", "protocol", num, "0xff", "match", "ip", "dport", strconv.Itoa(port), "0xffff", "flowid", "1:20")
}

// ReshapePort changes the rate and FIFO of what ShapePort set up, in place:
// the packets queued at the bottleneck stay queued, as on a link whose
// capacity changes (deleting and adding the qdisc would drop them all at
// once).
func ReshapePort(t testing.TB, rate, queue int) {
	t.Helper()
	r := fmt.Sprintf("%dbit", rate)
	Sh(t, "tc", "class", "change", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", r, "ceil", r, "burst", "4k", "cburst", "4k")
	Sh(t, "tc", "qdisc", "change", "dev", "lo", "parent", "1:20", "bfifo", "limit", strconv.Itoa(queue))
}
