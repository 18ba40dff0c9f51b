package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/glassagent/glassagent/audio"
	"github.com/glassagent/glassagent/media/mediatest"
)

// TestNoiseSuppressionOverSRT: speech (espeak-ng) in white noise at 5 dB
// SNR is the microphone (file:), streamed over SRT to ffmpeg twice, with
// and without --ns; ffmpeg decodes each recording's AAC and the noise left
// in the speech pauses (the quietest 50 ms frames) is compared. The speech
// itself (the loudest frames) must come through.
func TestNoiseSuppressionOverSRT(t *testing.T) {
	espeak := mediatest.NeedTool(t, "espeak-ng")
	dir := t.TempDir()
	speechWAV := filepath.Join(dir, "speech.wav")
	if out, err := exec.Command(espeak, "-w", speechWAV, "-s", "150",
		"The glasses stream what the wearer sees. [[_:_:]] Noise is taken out before the encoder.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	// espeak-ng speaks at 22050 Hz; microphones (and the suppressor's
	// 10 ms hops) run at 48 kHz.
	speech48 := filepath.Join(dir, "speech48.wav")
	if out, err := exec.Command(mediatest.NeedTool(t, "sox"), speechWAV, "-r", "48000", speech48).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	f, err := os.Open(speech48)
	if err != nil {
		t.Fatal(err)
	}
	sf, speech, err := audio.ReadWAV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A second of silence after the speech, so every loop has long pauses.
	speech = append(speech, make([]int16, sf.SampleRate)...)
	var sig float64
	for _, v := range speech {
		sig += float64(v) * float64(v)
	}
	sig /= float64(len(speech))
	noiseRMS := math.Sqrt(sig / math.Pow(10, 5.0/10)) // 5 dB SNR over the whole loop
	seed := uint64(7)
	noisy := make([]int16, len(speech))
	for i, v := range speech {
		var g float64 // Gaussian from 12 uniforms
		for k := 0; k < 12; k++ {
			seed = seed*6364136223846793005 + 1442695040888963407
			g += float64(seed>>11) / (1 << 53)
		}
		noisy[i] = int16(max(-32768, min(32767, float64(v)+noiseRMS*(g-6))))
	}
	micWAV := filepath.Join(dir, "noisy.wav")
	writeTestWAV(t, micWAV, sf, noisy)

	stream := func(ns bool) []int16 {
		port := mediatest.FreeUDPPort(t)
		out, ff := ffmpegSRTListener(t, port, "")
		args := []string{"stream", fmt.Sprintf("srt://127.0.0.1:%d?latency=120", port),
			"--mic", "file:" + micWAV, "--size", "320x240", "--fps", "15", "--bitrate", "300k", "--duration", "8s"}
		if ns {
			args = append(args, "--ns")
		}
		code, stdout, stderr := runCmd(context.Background(), args...)
		if code != 0 {
			t.Fatalf("ns=%v: exit %d\n%s\n%s", ns, code, stdout, stderr)
		}
		ff.Wait(10 * time.Second)
		pcm, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", out, "-vn",
			"-f", "s16le", "-ac", "1", "-ar", "48000", "-").Output()
		if err != nil {
			t.Fatalf("ffmpeg decoding %s: %v", out, err)
		}
		s := make([]int16, len(pcm)/2)
		binary.Read(bytes.NewReader(pcm), binary.LittleEndian, s)
		return s
	}
	// Frame levels in dB over 50 ms frames, after the first second (the
	// suppressor learns the noise at the start).
	levels := func(s []int16) []float64 {
		const n = 2400
		var out []float64
		for i := 48000; i+n <= len(s); i += n {
			var e float64
			for _, v := range s[i : i+n] {
				e += float64(v) * float64(v)
			}
			out = append(out, 10*math.Log10(e/n+1e-9))
		}
		slices.Sort(out)
		return out
	}
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	off, on := levels(stream(false)), levels(stream(true))
	if len(off) < 100 || len(on) < 100 {
		t.Fatalf("recordings too short: %d and %d frames", len(off), len(on))
	}
	q := func(l []float64) (quiet, loud float64) { return mean(l[:len(l)/5]), mean(l[len(l)*9/10:]) }
	quietOff, loudOff := q(off)
	quietOn, loudOn := q(on)
	t.Logf("pauses: %.1f dB without, %.1f dB with noise suppression (%.1f dB less); speech peaks %.1f and %.1f dB",
		quietOff, quietOn, quietOff-quietOn, loudOff, loudOn)
	if quietOff-quietOn < 10 {
		t.Errorf("noise in the pauses only %.1f dB lower with --ns, want at least 10", quietOff-quietOn)
	}
	if loudOff-loudOn > 3 {
		t.Errorf("speech %.1f dB quieter with --ns, want within 3 dB", loudOff-loudOn)
	}
}
