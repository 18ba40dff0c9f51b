package mediatest

import "go.uber.org/goleak"

// KnownLeaks are goroutines our dependencies leave behind, for goleak to
// ignore; NOTES.md says why each is there. Everything else must be gone at
// the end of a test binary.
func KnownLeaks() []goleak.Option {
	return []goleak.Option{
		// gosrt v0.10.0's Dial, after a failed handshake: its reader and its
		// timeout timer block sending on channels nobody reads any more.
		goleak.IgnoreTopFunction("github.com/datarhei/gosrt.Dial.func1"),
		goleak.IgnoreTopFunction("github.com/datarhei/gosrt.Dial.func3"),
	}
}
