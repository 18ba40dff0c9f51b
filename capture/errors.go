package capture

import "errors"

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("source closed")
