//go:build unix

package proc

import "syscall"

// ownGroup puts a child in a process group of its own: a Ctrl-C in the
// terminal then reaches the parent alone, which stops the child itself.
func ownGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
