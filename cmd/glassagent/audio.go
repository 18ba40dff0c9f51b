package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/glassagent/glassagent/audio"
	"github.com/glassagent/glassagent/media"
)

// runAudio is `glassagent audio IN.wav OUT.wav [flags]`: the microphone's
// front-end run offline on WAV files, so a device maker can hear and tune
// it. Flags may come before or after the file names.
func runAudio(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.Bool("ns", false, "noise suppression")
	aec := fs.String("aec", "", "echo cancellation against this `REFERENCE.wav` (what the speaker played, starting with IN.wav)")
	rate := fs.Int("rate", 0, "output sample rate (default: the input's)")
	channels := fs.Int("channels", 0, "output channels, 1 or 2 (default: the input's)")
	hp := fs.Bool("highpass", false, "high-pass filter (DC and rumble below 80 Hz)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glassagent audio IN.wav OUT.wav [--ns] [--aec REFERENCE.wav] [--rate N] [--channels N] [--highpass]")
		fs.PrintDefaults()
	}
	readWAVFile := func(path string) (media.AudioFormat, []int16, error) {
		f, err := os.Open(path)
		if err != nil {
			return media.AudioFormat{}, nil, media.Wrap(media.CodeNotFound, err)
		}
		defer f.Close()
		format, s, err := audio.ReadWAV(f)
		if err != nil {
			return media.AudioFormat{}, nil, fmt.Errorf("%s: %w", path, err)
		}
		return format, s, nil
	}
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 2 {
		fs.Usage()
		return errUsage
	}
	inFmt, in, err := readWAVFile(files[0])
	if err != nil {
		return err
	}
	chain, err := audio.New(inFmt, audio.Config{HighPass: *hp, NoiseSuppression: *ns, EchoCancellation: *aec != "", OutRate: *rate, OutChannels: *channels})
	if err != nil {
		return err
	}
	var refFmt media.AudioFormat
	var ref []int16
	if *aec != "" {
		if refFmt, ref, err = readWAVFile(*aec); err != nil {
			return err
		}
	}
	out := chain.Format()
	// Run 10 ms blocks, then enough silence to flush the chain's latency,
	// and drop that latency from the front so OUT lines up with IN.
	blockFrames := inFmt.SampleRate / 100
	inFrames := len(in) / inFmt.Channels
	lat := chain.Latency()
	flush := int(lat.Seconds()*float64(inFmt.SampleRate)) + 2*blockFrames
	skip := int(lat.Seconds()*float64(out.SampleRate) + 0.5)
	want := int(int64(inFrames) * int64(out.SampleRate) / int64(inFmt.SampleRate))
	result := make([]int16, 0, (want+skip+blockFrames)*out.Channels)
	blk := media.AudioBlock{Format: inFmt, Samples: make([]int16, blockFrames*inFmt.Channels)}
	refBlockFrames := max(refFmt.SampleRate/100, 1)
	refBlk := media.AudioBlock{Format: refFmt}
	for f := 0; f < inFrames+flush; f += blockFrames {
		if f%(100*blockFrames) == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		for i := range blk.Samples {
			if j := f*inFmt.Channels + i; j < len(in) {
				blk.Samples[i] = in[j]
			} else {
				blk.Samples[i] = 0
			}
		}
		blk.PTS = time.Duration(int64(f) * int64(time.Second) / int64(inFmt.SampleRate))
		if ref != nil {
			// The reference for the same 10 ms, fed first: playback is
			// always ahead of what the microphone hears.
			rf := f / blockFrames * refBlockFrames
			lo, hi := min(rf*refFmt.Channels, len(ref)), min((rf+refBlockFrames)*refFmt.Channels, len(ref))
			refBlk.Samples, refBlk.PTS = ref[lo:hi], blk.PTS
			if len(refBlk.Samples) > 0 {
				if err := chain.FeedReference(&refBlk); err != nil {
					return err
				}
			}
		}
		result = append(result, chain.Process(&blk).Samples...)
	}
	result = result[min(skip*out.Channels, len(result)):]
	result = result[:min(want*out.Channels, len(result))]
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, out, result); err != nil {
		return err
	}
	if err := os.WriteFile(files[1], buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("audio: %w", err)
	}
	st := chain.Stats()
	fmt.Fprintf(stdout, "%s: %d Hz x%d, %.2f s -> %s: %d Hz x%d, %.2f s\n", files[0], inFmt.SampleRate, inFmt.Channels,
		float64(inFrames)/float64(inFmt.SampleRate), files[1], out.SampleRate, out.Channels, float64(len(result)/out.Channels)/float64(out.SampleRate))
	if len(st.Stages) == 0 {
		fmt.Fprintln(stdout, "stages: none (copied)")
	}
	for _, s := range st.Stages {
		fmt.Fprintf(stdout, "stage: %s\n", s)
	}
	if *ns {
		fmt.Fprintf(stdout, "noise floor estimate: %.1f dBFS\n", st.NoiseFloorDBFS)
	}
	if *aec != "" {
		if st.EchoDelayFound {
			fmt.Fprintf(stdout, "echo delay found: %.1f ms\n", st.EchoDelay.Seconds()*1000)
		} else {
			fmt.Fprintln(stdout, "echo delay found: none (no echo learnt)")
		}
		fmt.Fprintf(stdout, "ERLE: %.1f dB (adaptive filter %.1f dB)\n", st.ERLE, st.LinearERLE)
	}
	fmt.Fprintf(stdout, "latency: %.1f ms (removed from OUT)\n", lat.Seconds()*1000)
	return nil
}
