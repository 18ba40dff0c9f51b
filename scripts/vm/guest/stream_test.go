package guest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStreamVividToSRT is the whole `glassagent` on real drivers: the
// device binary (the cgo build, with openh264, that scripts/vm/run.sh puts
// at /glassagent) streams the vivid camera and the aloop microphone through
// the software H.264 and AAC encoders over SRT to the demo's receiver on the
// guest's own loopback, and the receiver's count of frames is checked
// against what was captured.
func TestStreamVividToSRT(t *testing.T) {
	needGuest(t)
	if _, err := os.Stat("/glassagent"); err != nil {
		t.Fatalf("no /glassagent in the initramfs: %v", err)
	}
	if err := loopbackUp(); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	if err := os.MkdirAll("/tmp", 0o1777); err != nil { // the initramfs has none
		t.Fatal(err)
	}
	cam := nodeByName(t, "vivid-000-vid-cap")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const secs, fps = 6, 15
	cmd := exec.CommandContext(ctx, "/glassagent", "demo", "--camera", cam, "--mic", "hw:0,0",
		"--encoder", "sw", "--size", "640x360", "--fps", strconv.Itoa(fps), "--bitrate", "800k",
		"--duration", strconv.Itoa(secs)+"s", "--out", "/tmp/vm-stream.ts")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("glassagent demo:\n%s", out.String())
	if err != nil {
		t.Fatalf("glassagent demo: %v", err)
	}
	m := regexp.MustCompile(`frames\s+(\d+) captured, (\d+) encoded, (\d+) sent, (\d+) received \((\d+) keyframes\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("no frame summary in the output")
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	captured, sent, received, keys := n(1), n(3), n(4), n(5)
	// TCG is slow and vivid paces itself on host time: ask for at least
	// half the nominal frames, then that the receiver got what was sent.
	if captured < secs*fps/2 {
		t.Errorf("%d frames captured in %d s at %d fps", captured, secs, fps)
	}
	if received != sent || received < captured*9/10 || keys < 1 {
		t.Errorf("captured %d, sent %d, received %d (%d keyframes)", captured, sent, received, keys)
	}
	if !regexp.MustCompile(`video\s+640x360 @ 15 fps, H\.264 \(software`).MatchString(out.String()) {
		t.Error("the summary does not say 640x360 H.264 from the software encoder")
	}
	if !regexp.MustCompile(`audio\s+[1-9]\d* AAC frames sent, [1-9]\d* received`).MatchString(out.String()) {
		t.Error("no AAC from the aloop microphone reached the receiver")
	}
}

// loopbackUp sets IFF_UP on lo: the guest has no other network device and
// nothing else configures it.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
