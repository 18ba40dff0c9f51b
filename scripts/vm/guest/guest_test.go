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
	"math"
	"os"
	"strings"
	"testing"
	"time"

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
	defer func() {
		// The host looks for these markers on the serial console.
		if code == 0 {
			fmt.Println("VMTEST: PASS")
		} else {
			fmt.Println("VMTEST: FAIL")
		}
		os.Stdout.Sync()
		unix.Sync()
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	flag.Set("test.v", "true") // the console is the only report
	if err := setup(); err != nil {
		fmt.Println("vmtest setup:", err)
		return
	}
	code = m.Run()
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

// TestALSALoopback: a 1 kHz tone written to the loopback card's playback
// side (hw:0,0) is captured on its capture side (hw:0,1) by our pure-Go
// ALSA code, with the frequency intact.
func TestALSALoopback(t *testing.T) {
	needGuest(t)
	f := media.AudioFormat{SampleRate: 48000, Channels: 1}
	out, err := capture.OpenALSAPlayback(0, 0, f)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	mic, err := capture.OpenALSAMic(0, 1, f, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	tone := make([]int16, 48000*2)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/48000))
	}
	played := make(chan error, 1)
	go func() { played <- out.Write(tone) }()
	var got []int16
	var last time.Duration = -1
	for len(got) < 48000 {
		b, err := mic.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if b.PTS <= last {
			t.Fatalf("capture PTS not increasing: %v after %v", b.PTS, last)
		}
		last = b.PTS
		got = append(got, b.Samples...)
	}
	if err := <-played; err != nil {
		t.Fatal(err)
	}
	// The last half second: the tone has arrived by then.
	tail := got[len(got)/2:]
	crossings, energy := 0, 0.0
	for i := 1; i < len(tail); i++ {
		if (tail[i-1] < 0) != (tail[i] < 0) {
			crossings++
		}
		energy += float64(tail[i]) * float64(tail[i])
	}
	hz := float64(crossings) / 2 / (float64(len(tail)) / 48000)
	rms := math.Sqrt(energy / float64(len(tail)))
	t.Logf("captured %.1f Hz at rms %.0f; overruns %d", hz, rms, mic.Overruns())
	if math.Abs(hz-1000) > 20 || rms < 3000 {
		t.Errorf("captured %.1f Hz at rms %.0f, want the 1 kHz tone (rms ~5657)", hz, rms)
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

// TestVividCapture: frames from the vivid camera through our V4L2 capture
// (MMAP streaming, YUYV converted to I420): the count, increasing
// timestamps, and a real picture (vivid's colour bars), not a constant.
func TestVividCapture(t *testing.T) {
	needGuest(t)
	for _, size := range [][2]int{{640, 360}, {320, 240}} {
		cam, err := capture.OpenCamera("/dev/video0", size[0], size[1], 30, media.NewClock())
		if err != nil {
			t.Fatal(err)
		}
		var last time.Duration = -1
		for i := 0; i < 10; i++ {
			f, err := cam.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if f.Format.Width != size[0] || f.Format.Height != size[1] {
				t.Fatalf("frame %dx%d", f.Format.Width, f.Format.Height)
			}
			if f.PTS <= last {
				t.Errorf("PTS %v after %v", f.PTS, last)
			}
			last = f.PTS
			y := f.Planes[0]
			lo, hi := 255, 0
			for _, v := range y[:size[0]] { // the first row crosses the bars
				lo, hi = min(lo, int(v)), max(hi, int(v))
			}
			if i == 9 {
				t.Logf("%dx%d %v: first row luma %d..%d", size[0], size[1], f.Format.Pixel, lo, hi)
				if hi-lo < 50 {
					t.Errorf("no colour bars in the first row: luma %d..%d", lo, hi)
				}
			}
			f.Release()
		}
		if err := cam.Close(); err != nil {
			t.Error(err)
		}
	}
}
