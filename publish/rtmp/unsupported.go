//go:build arm || 386 || mips || mipsle

// Package rtmp publishes FLV over RTMP and RTMPS with yutopp/go-rtmp.
//
// On 32-bit targets it is absent: go-rtmp v0.0.7 assigns math.MaxUint32 to
// an int and does not compile there (see NOTES.md).
package rtmp

import (
	"net/url"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// New refuses: this build has no RTMP.
func New(u *url.URL, cfg publish.Config) (publish.Publisher, error) {
	return nil, media.Errorf(media.CodeUnsupportedScheme, "RTMP is not available in 32-bit builds (its library, go-rtmp v0.0.7, does not compile there); use srt:// or https:// (WHIP)")
}
