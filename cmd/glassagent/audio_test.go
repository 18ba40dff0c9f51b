package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassagent/glassagent/audio"
	"github.com/glassagent/glassagent/media"
)

func writeTestWAV(t *testing.T, path string, f media.AudioFormat, s []int16) {
	t.Helper()
	var b bytes.Buffer
	if err := audio.WriteWAV(&b, f, s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAudioCommand runs the offline front-end on a tone with hum, DC and
// an echo of a reference, and reads the result back.
func TestAudioCommand(t *testing.T) {
	dir := t.TempDir()
	in, ref, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "ref.wav"), filepath.Join(dir, "out.wav")
	const rate, secs = 48000, 3
	mic := make([]int16, rate*secs*2)
	played := make([]int16, rate*secs)
	seed := uint32(1)
	for i := range played {
		seed = seed*1664525 + 1013904223
		played[i] = int16(int32(seed>>16)-32768) / 8 // white noise on the speaker
	}
	for i := 0; i < rate*secs; i++ {
		var echo float64
		if i >= 2400 { // 50 ms later in the microphone
			echo = 0.5 * float64(played[i-2400])
		}
		v := 500 + echo
		if i >= 2*rate { // the wearer's "voice" joins in the last second
			v += 2000 * math.Sin(2*math.Pi*440*float64(i)/rate)
		}
		mic[2*i], mic[2*i+1] = int16(v), int16(v)
	}
	writeTestWAV(t, in, media.AudioFormat{SampleRate: rate, Channels: 2}, mic)
	writeTestWAV(t, ref, media.AudioFormat{SampleRate: 44100, Channels: 1}, resampleTo44(t, played))

	var stdout, stderr bytes.Buffer
	err := runAudio(context.Background(), []string{in, out, "--aec", ref, "--highpass", "--rate", "44100", "--channels", "1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	t.Logf("\n%s", stdout.String())
	for _, want := range []string{"stage: highpass", "stage: echo cancellation", "stage: resample 48000 Hz x2 -> 44100 Hz x1", "ERLE:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	var delay float64
	if i := strings.Index(stdout.String(), "echo delay found: "); i < 0 {
		t.Error("no echo delay reported")
	} else if fmt.Sscanf(stdout.String()[i:], "echo delay found: %f ms", &delay); math.Abs(delay-50) > 3 {
		t.Errorf("echo delay found %.1f ms, true 50 ms", delay)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, s, err := audio.ReadWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if f != (media.AudioFormat{SampleRate: 44100, Channels: 1}) || len(s) != 44100*secs {
		t.Fatalf("OUT is %+v with %d samples, want 44.1 kHz mono, %d", f, len(s), 44100*secs)
	}
	// In the second second (echo only, after a second to learn) the echo is
	// down by 10 dB; in the last one the tone comes through.
	var echoIn, echoOut float64
	for i := 44100; i < 2*44100; i++ {
		echoOut += float64(s[i]) * float64(s[i])
		echoIn += 0.25 * float64(played[i*48000/44100]) * float64(played[i*48000/44100])
	}
	t.Logf("echo-only second: echo down %.1f dB", 10*math.Log10(echoIn/echoOut))
	if echoOut*10 > echoIn {
		t.Errorf("echo only %.1f dB down, want >= 10", 10*math.Log10(echoIn/echoOut))
	}
	var mean, tone, total float64
	last := s[2*44100:]
	for i, v := range last {
		x := float64(v)
		mean += x
		total += x * x
		tone += x * math.Sin(2*math.Pi*440*float64(i)/44100)
	}
	mean /= float64(len(last))
	toneAmp := 2 * tone / float64(len(last))
	resid := total/float64(len(last)) - toneAmp*toneAmp/2
	t.Logf("DC %.1f, tone amplitude %.0f (in 2000), residual power %.1f dB under the tone", mean, math.Abs(toneAmp), 10*math.Log10(toneAmp*toneAmp/2/math.Max(resid, 1e-9)))
	if math.Abs(mean) > 20 || math.Abs(toneAmp) < 1400 {
		t.Errorf("DC %.1f, tone %.0f, residual %.0f: the chain did not clean the signal", mean, toneAmp, resid)
	}
}

// resampleTo44 makes the reference 44.1 kHz, as a speaker path might be.
func resampleTo44(t *testing.T, x []int16) []int16 {
	r, err := audio.NewResampler(48000, 1, 44100, 1)
	if err != nil {
		t.Fatal(err)
	}
	return append([]int16(nil), r.Process(x)...)
}

func TestAudioCommandErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	writeTestWAV(t, in, media.AudioFormat{SampleRate: 16000, Channels: 1}, make([]int16, 16000))
	bad := filepath.Join(dir, "bad.wav")
	writeTestWAV(t, bad, media.AudioFormat{SampleRate: 22050, Channels: 1}, make([]int16, 22050))
	var o, e bytes.Buffer
	if err := runAudio(context.Background(), []string{"--ns", in, filepath.Join(dir, "ns.wav")}, &o, &e); err != nil || !strings.Contains(o.String(), "noise floor estimate: ") {
		t.Errorf("--ns: %v\n%s", err, o.String())
	}
	if err := runAudio(context.Background(), []string{in}, &o, &e); !errors.Is(err, errUsage) {
		t.Errorf("one file: %v", err)
	}
	if err := runAudio(context.Background(), []string{bad, filepath.Join(dir, "o.wav"), "--ns"}, &o, &e); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
		t.Errorf("NS at 22050 Hz: %v, want invalid_config", err)
	}
	if err := runAudio(context.Background(), []string{filepath.Join(dir, "missing.wav"), filepath.Join(dir, "o.wav")}, &o, &e); err == nil {
		t.Error("missing input accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "o.wav")); err == nil {
		t.Error("an output was written despite the error")
	}
}
