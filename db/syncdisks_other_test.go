//go:build !unix

package db_test

// syncDisks does nothing where there is no sync(2).
func syncDisks() {}
