//go:build unix

package main

import "syscall"

// restrictFiles makes every file the server creates (database, WAL, search
// index) readable by its own user only.
func restrictFiles() { syscall.Umask(0o077) }
