package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/glassagent/glassagent/media"
)

// A WAV reader and writer for the offline tool and the tests. No pinned
// module reads WAV, and PCM16 RIFF is small enough to own: only what
// glassagent produces and consumes (S16LE) is accepted.

// maxWAVSamples bounds what ReadWAV keeps in memory (about 10 minutes of
// 48 kHz stereo), so a hostile header cannot make it allocate without limit.
const maxWAVSamples = 64 << 20

// ReadWAV reads a 16-bit PCM WAV file (plain or WAVE_FORMAT_EXTENSIBLE) and
// returns its format and interleaved samples. A data chunk that claims more
// than the file holds (as streamed WAVs do) yields what is there.
func ReadWAV(r io.Reader) (media.AudioFormat, []int16, error) {
	br := bufio.NewReader(r)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return media.AudioFormat{}, nil, wavErr("short RIFF header: %v", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return media.AudioFormat{}, nil, wavErr("not a RIFF/WAVE file")
	}
	var f media.AudioFormat
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			return media.AudioFormat{}, nil, wavErr("no data chunk: %v", err)
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return media.AudioFormat{}, nil, wavErr("fmt chunk of %d bytes", size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(br, b); err != nil {
				return media.AudioFormat{}, nil, wavErr("short fmt chunk: %v", err)
			}
			tag := binary.LittleEndian.Uint16(b[0:2])
			ch := int(binary.LittleEndian.Uint16(b[2:4]))
			rate := int(binary.LittleEndian.Uint32(b[4:8]))
			bits := binary.LittleEndian.Uint16(b[14:16])
			if tag == 0xFFFE && size >= 40 { // WAVE_FORMAT_EXTENSIBLE: the subformat GUID starts with the tag
				tag = binary.LittleEndian.Uint16(b[24:26])
			}
			if tag != 1 || bits != 16 {
				return media.AudioFormat{}, nil, wavErr("format tag %d, %d bits: only 16-bit PCM is supported", tag, bits)
			}
			if ch < 1 || ch > 8 || rate < 1000 || rate > 384000 {
				return media.AudioFormat{}, nil, wavErr("%d channels at %d Hz", ch, rate)
			}
			f, haveFmt = media.AudioFormat{SampleRate: rate, Channels: ch}, true
		case "data":
			if !haveFmt {
				return media.AudioFormat{}, nil, wavErr("data chunk before fmt chunk")
			}
			s, err := readSamples(br, int64(size), f.Channels)
			return f, s, err
		default: // LIST, fact, ...: skip, with the pad byte of odd sizes
			if _, err := io.CopyN(io.Discard, br, int64(size)+int64(size&1)); err != nil {
				return media.AudioFormat{}, nil, wavErr("short %q chunk: %v", id, err)
			}
		}
	}
}

// readSamples reads up to size bytes of S16LE in pieces, never trusting size
// for an allocation, and drops a trailing partial frame.
func readSamples(r io.Reader, size int64, channels int) ([]int16, error) {
	var out []int16
	buf := make([]byte, 32<<10)
	for size > 0 {
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), size)])
		for i := 0; i+1 < n; i += 2 {
			out = append(out, int16(binary.LittleEndian.Uint16(buf[i:])))
		}
		size -= int64(n)
		if len(out) > maxWAVSamples {
			return nil, wavErr("more than %d samples", maxWAVSamples)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, wavErr("reading samples: %v", err)
		}
	}
	return out[:len(out)/channels*channels], nil
}

func wavErr(format string, a ...any) error {
	return media.Errorf(media.CodeInvalidConfig, "wav: "+format, a...)
}

// WriteWAV writes interleaved S16 samples as a 16-bit PCM WAV file.
func WriteWAV(w io.Writer, f media.AudioFormat, samples []int16) error {
	if f.Channels < 1 || f.SampleRate < 1 {
		return wavErr("cannot write %d channels at %d Hz", f.Channels, f.SampleRate)
	}
	data := len(samples) * 2
	if uint64(data) > 0xFFFFFFFF-36 {
		return wavErr("%d samples do not fit a WAV file", len(samples))
	}
	b := make([]byte, 44, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], uint16(f.Channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(f.SampleRate))
	binary.LittleEndian.PutUint32(b[28:], uint32(f.SampleRate*f.Channels*2))
	binary.LittleEndian.PutUint16(b[32:], uint16(f.Channels*2))
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("wav: %w", err)
	}
	return nil
}
