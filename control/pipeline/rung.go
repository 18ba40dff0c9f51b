package pipeline

import (
	"fmt"
	"strconv"
	"time"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/scale"
)

// Rung is a picture size and frame rate the pipeline encodes at: the
// camera's own, or a smaller one of the resolution ladder.
type Rung struct {
	Width, Height, FPS int
}

func (r Rung) String() string {
	return strconv.Itoa(r.Width) + "x" + strconv.Itoa(r.Height) + " at " + strconv.Itoa(r.FPS) + " fps"
}

// reconfigurer is a video encoder that can change its picture size and frame
// rate while running (openh264 rebuilds itself; the M2M encoder changes its
// rate and refuses a new size with media.CodeUnsupported).
type reconfigurer interface {
	Reconfigure(width, height, fps int) error
}

// SetRung asks the video loop to encode at r from its next frame on: the
// frames scaled to r's size, dropped to r's frame rate by their capture
// timestamps, and the encoder reconfigured, a keyframe first. A rung larger
// than the camera's frames in either way, or faster, is clamped to them.
// Safe from any goroutine; the loop applies the latest.
func (p *Pipeline) SetRung(r Rung) {
	p.wantRung.Store(&r)
}

// Rung is what the video loop encodes at now, and why it is not what was
// asked last, if it is not ("" otherwise).
func (p *Pipeline) Rung() (Rung, string) {
	p.rungMu.Lock()
	defer p.rungMu.Unlock()
	return p.rung, p.rungNote
}

// rungState is the video loop's own: the rung applied, its scaler and its
// frame gate.
type rungState struct {
	cur    Rung
	asked  *Rung
	resync bool // the next keyframe is a step down's (AccessUnit.Resync)
	scaler *scale.Scaler
	gate   frameGate
}

// applyRung moves the loop to the rung asked last, if it changed, before
// frame f (whose format the camera delivers). What cannot be done is kept
// as it was and said in the note: a hardware encoder that keeps its size
// still gets the rung's frame rate.
func (p *Pipeline) applyRung(st *rungState, f *media.VideoFrame) {
	want := p.wantRung.Load()
	if want == nil || want == st.asked {
		return
	}
	st.asked = want
	src := f.Format
	r := Rung{Width: min(want.Width, src.Width), Height: min(want.Height, src.Height), FPS: want.FPS}
	if r.FPS <= 0 || src.FPS > 0 && r.FPS > src.FPS {
		r.FPS = src.FPS
	}
	note := ""
	var sc *scale.Scaler // for the new size, when there is one
	if r.Width != src.Width || r.Height != src.Height {
		var err error
		if sc, err = scale.New(src, media.VideoFormat{Pixel: src.Pixel, Width: r.Width, Height: r.Height, FPS: r.FPS}); err != nil {
			note = fmt.Sprintf("keeps %dx%d: %v", st.cur.Width, st.cur.Height, err)
			r.Width, r.Height = st.cur.Width, st.cur.Height
		}
	}
	enc, ok := p.cfg.VideoEncoder.(reconfigurer)
	switch {
	case !ok && (r.Width != st.cur.Width || r.Height != st.cur.Height):
		note = "the encoder cannot change its size; frame rate only"
		r.Width, r.Height = st.cur.Width, st.cur.Height
	case ok:
		err := enc.Reconfigure(r.Width, r.Height, r.FPS)
		if media.CodeOf(err) == media.CodeUnsupported {
			// The hardware encoder keeps its size: the rung's frame rate
			// still lowers the bitrate the picture needs.
			note = err.Error() + "; frame rate only"
			r.Width, r.Height = st.cur.Width, st.cur.Height
			err = enc.Reconfigure(r.Width, r.Height, r.FPS)
		}
		if err != nil {
			// The encoder runs on as it was; the stream is not lost for a
			// rung.
			p.setRung(st.cur, "staying at "+st.cur.String()+": "+err.Error())
			return
		}
	}
	switch {
	case r.Width == src.Width && r.Height == src.Height:
		st.scaler = nil
	case sc != nil && r.Width == sc.Format().Width && r.Height == sc.Format().Height:
		st.scaler = sc
	}
	// Otherwise the size stayed where it was, and so does its scaler.
	st.gate.set(r.FPS, src.FPS)
	st.resync = r.Width*r.Height*r.FPS < st.cur.Width*st.cur.Height*st.cur.FPS
	st.cur = r
	// A rebuilt openh264 starts on an IDR anyway; a frame rate change on
	// hardware does not, and every switch is a join point.
	p.cfg.VideoEncoder.ForceKeyframe()
	p.setRung(r, note)
}

func (p *Pipeline) setRung(r Rung, note string) {
	p.rungMu.Lock()
	p.rung, p.rungNote = r, note
	p.rungMu.Unlock()
}

// frameGate keeps at most one frame per interval of the rung's frame rate,
// by capture timestamps: a camera delivers with jitter and now and then a
// gap, and keeping every other frame by count would drift off the wanted
// rate whenever frames are lost. Each point of a grid spaced 1/fps gets the
// first frame at or after it (less half a source frame, for jitter), so
// over any stretch the rate is the rung's, and a gap longer than an
// interval restarts the grid at the next frame rather than letting a burst
// through.
type frameGate struct {
	every, slack time.Duration // every 0: keep all
	next         time.Duration
	started      bool
}

func (g *frameGate) set(fps, srcFPS int) {
	*g = frameGate{}
	if fps > 0 && srcFPS > fps {
		g.every = time.Second / time.Duration(fps)
		g.slack = time.Second / time.Duration(srcFPS) / 2
	}
}

func (g *frameGate) keep(pts time.Duration) bool {
	if g.every == 0 {
		return true
	}
	if g.started && pts < g.next-g.slack {
		return false
	}
	if !g.started || pts-g.next > g.every {
		g.next = pts
	}
	g.started = true
	g.next += g.every
	return true
}
