// Package models holds govmobile's domain entities, their invariants and the
// one application error type. It never imports GraphQL or HTTP.
package models

import (
	"errors"
	"fmt"
)

// Error codes are stable machine codes; the GraphQL layer copies them into
// extensions.code. Clients branch on them, so they never change meaning.
const (
	ECodeUnauthenticated = "UNAUTHENTICATED"
	ECodeForbidden       = "FORBIDDEN"
	ECodeNotFound        = "NOT_FOUND"
	ECodeBadUserInput    = "BAD_USER_INPUT"
	ECodeConflict        = "CONFLICT"
	ECodeRateLimited     = "RATE_LIMITED"
	ECodeUnavailable     = "UNAVAILABLE"
	ECodeInternal        = "INTERNAL"
)

// Error is an application error: a machine code and a Chinese sentence a
// citizen understands. Any other error is internal and never shown as is.
type Error struct {
	Code    string
	Message string
	// Field names the input field at fault, when there is one (e.g. "idNumber").
	Field string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an application error with the given code and message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField returns a BAD_USER_INPUT error about one input field.
func InvalidField(field, message string) *Error {
	return &Error{Code: ECodeBadUserInput, Message: message, Field: field}
}

// ErrorCode returns the code of an application error, or INTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}
