//go:build unix

package db_test

import "syscall"

// syncDisks has the kernel write out every dirty page (sync(2)).
func syncDisks() { syscall.Sync() }
