// Package guest runs inside a QEMU guest booted with Debian's kernel, as
// its /init (scripts/vm/run.sh builds and boots it): it loads the real
// drivers (vivid: a V4L2 camera; snd-aloop: an ALSA card) and checks our
// device code against them. On a normal machine every test skips.
package guest

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/sounds"
)

// inGuest is true when this binary is the guest's init.
func inGuest() bool { return os.Getpid() == 1 }

func TestMain(m *testing.M) {
	if !inGuest() {
		os.Exit(m.Run()) // tests skip
	}
	code := 1
	defer func() { exitGuest(code) }()
	flag.Set("test.v", "true") // the console is the only report
	if err := setup(); err != nil {
		fmt.Println("vmtest setup:", err)
		return
	}
	if b, err := os.ReadFile("/run.filter"); err == nil {
		flag.Set("test.run", strings.TrimSpace(string(b)))
	}
	code = m.Run()
}

// exitGuest reports the result twice, as the host checks both: a marker on
// the serial console, flushed (tcdrain) before anything else happens, and
// the code through QEMU's isa-debug-exit port 0xf4 (written via /dev/port,
// as Go has no in/out instructions). Power-off is the fallback.
func exitGuest(code int) {
	if code == 0 {
		fmt.Println("VMTEST: PASS")
	} else {
		fmt.Println("VMTEST: FAIL")
	}
	os.Stdout.Sync()
	unix.IoctlSetInt(1, unix.TCSBRK, 1) // tcdrain
	if f, err := os.OpenFile("/dev/port", os.O_WRONLY, 0); err == nil {
		f.WriteAt([]byte{byte(code)}, 0xf4)
		f.Close()
	}
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

// setup mounts the kernel filesystems and loads the modules listed, in
// dependency order, in /modules.list ("path params" per line).
func setup() error {
	for _, mnt := range []struct{ src, dst, typ string }{
		{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"},
	} {
		os.MkdirAll(mnt.dst, 0o755)
		if err := unix.Mount(mnt.src, mnt.dst, mnt.typ, 0, ""); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mount %s: %w", mnt.dst, err)
		}
	}
	f, err := os.Open("/modules.list")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, params, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if path == "" {
			continue
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		err = unix.FinitModule(fd, params, 0)
		unix.Close(fd)
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("load %s: %w", path, err)
		}
	}
	return sc.Err()
}

func needGuest(t *testing.T) {
	if !inGuest() {
		t.Skip("runs in the QEMU guest: scripts/vm/run.sh")
	}
}

// TestProbeVivid: our V4L2 probing (QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES)
// against the vivid driver.
func TestProbeVivid(t *testing.T) {
	needGuest(t)
	cams, errs := capture.Cameras()
	for _, err := range errs {
		t.Log(err)
	}
	if len(cams) == 0 {
		t.Fatal("no camera found with vivid loaded")
	}
	c := cams[0]
	t.Logf("%s: %s (%s), %d formats, multi-planar %v", c.Path, c.Card, c.Driver, len(c.Capture), c.Multiplanar())
	if c.Driver != "vivid" {
		t.Errorf("driver %q, want vivid", c.Driver)
	}
	found := map[string][]string{}
	for _, f := range c.Capture {
		found[f.FourCC] = f.Sizes
	}
	for _, want := range []string{"YUYV", "NV12"} {
		if _, ok := found[want]; !ok {
			t.Errorf("vivid offers no %s; formats: %v", want, found)
		}
	}
	if len(found["YUYV"]) == 0 {
		t.Errorf("no frame sizes for YUYV")
	}
}

// TestProbeALSA: snd-aloop's loopback card shows up as microphones and
// speakers.
func TestProbeALSA(t *testing.T) {
	needGuest(t)
	devs := capture.SoundDevices()
	var mic, spk bool
	for _, d := range devs {
		t.Logf("%s %s capture=%v", d.Name(), d.CardName, d.Capture)
		if strings.Contains(d.CardName, "Loopback") {
			mic = mic || d.Capture
			spk = spk || !d.Capture
		}
	}
	if !mic || !spk {
		t.Errorf("loopback card not seen as microphone and speaker: %+v", devs)
	}
}

// TestCuesOnTheSpeaker: the start cue played through the sounds package on
// the loopback's playback side is heard on its capture side.
func TestCuesOnTheSpeaker(t *testing.T) {
	needGuest(t)
	p, err := sounds.NewPlayer("hw:0,0")
	if err != nil || p == nil {
		t.Fatalf("player: %v", err)
	}
	var playErr error
	p.OnError = func(err error) { playErr = err }
	mic, err := capture.OpenALSAMic(0, 1, sounds.Format, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	p.PlayStart()
	var got []int16
	for len(got) < sounds.Format.SampleRate/2 {
		b, err := mic.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Samples...)
	}
	p.Wait()
	if playErr != nil {
		t.Fatal(playErr)
	}
	var peak int16
	for _, v := range got {
		peak = max(peak, v)
	}
	t.Logf("cue captured with peak %d", peak)
	if peak < 5000 {
		t.Errorf("the cue was not heard (peak %d)", peak)
	}
}
