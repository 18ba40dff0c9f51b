package media

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Status events, API replies
// and the CLI's exit messages carry it as errorDetails.
type Code string

// Error codes shared by every stage. Keep them stable: clients match on them.
const (
	CodeInvalidURL        Code = "invalid_url"
	CodeUnsupportedScheme Code = "unsupported_scheme"
	CodeInvalidConfig     Code = "invalid_config"
	CodeConnectFailed     Code = "connect_failed"
	CodeAuthFailed        Code = "auth_failed"
	CodeTLSFailed         Code = "tls_failed"
	CodeTimeout           Code = "timeout"
	CodeConnectionLost    Code = "connection_lost"
	CodeEncoderFailed     Code = "encoder_failed"
	CodeCameraFailed      Code = "camera_failed"
	CodeCameraLost        Code = "camera_lost"
	CodeMicFailed         Code = "mic_failed"
	CodeCameraBusy        Code = "camera_busy"
	CodeDurationLimit     Code = "duration_limit"
	CodeKeepaliveTimeout  Code = "keepalive_timeout"
	CodeBatteryLow        Code = "battery_low"
	CodeNotFound          Code = "not_found"
	CodeUnsupported       Code = "unsupported"
	CodeInternal          Code = "internal"
)

// Error is an error with a stable code. Match it with errors.Is against
// another *Error with the same code and no cause, e.g.
// errors.Is(err, media.ErrCode(media.CodeAuthFailed)).
type Error struct {
	Code Code
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "":
		return string(e.Code) + ": " + e.Msg
	case e.Err != nil:
		return string(e.Code) + ": " + e.Err.Error()
	}
	return string(e.Code)
}

// Message is the human part of the error, without the code.
func (e *Error) Message() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by code when the target carries no message or
// cause (the form ErrCode returns).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Err == nil && t.Code == e.Code
}

// ErrCode returns a target for errors.Is that matches any error with code c.
func ErrCode(c Code) error { return &Error{Code: c} }

// Wrap gives err the code c, keeping it as the cause.
func Wrap(c Code, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: c, Err: err}
}

// Errorf builds an *Error with code c and the formatted message. A %w verb in
// format also becomes the cause, for errors.Is and errors.As.
func Errorf(c Code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: c, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// CodeOf returns the code of the first *Error in err's chain, or
// CodeInternal when there is none. A nil error has no code.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
