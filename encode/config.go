package encode

import "github.com/glassagent/glassagent/media"

const (
	minBitrate = 50_000
	maxBitrate = 50_000_000
)

// validate checks a video configuration and fills the GOP default.
func (c *VideoConfig) validate() error {
	switch {
	case c.Width <= 0 || c.Height <= 0 || c.Width%2 != 0 || c.Height%2 != 0 || c.Width > 4096 || c.Height > 4096:
		return media.Errorf(media.CodeInvalidConfig, "video size %dx%d: width and height must be even, 2 to 4096", c.Width, c.Height)
	case c.FPS < 1 || c.FPS > 120:
		return media.Errorf(media.CodeInvalidConfig, "frame rate %d: must be 1 to 120", c.FPS)
	case c.Bitrate < minBitrate || c.Bitrate > maxBitrate:
		return media.Errorf(media.CodeInvalidConfig, "video bitrate %d bit/s: must be %d to %d", c.Bitrate, minBitrate, maxBitrate)
	case c.GOP < 0:
		return media.Errorf(media.CodeInvalidConfig, "GOP %d: must not be negative", c.GOP)
	}
	if c.GOP == 0 {
		c.GOP = c.FPS
	}
	return nil
}
