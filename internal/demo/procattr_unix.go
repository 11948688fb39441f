//go:build unix

package demo

import "syscall"

// ownProcessGroup puts a child in a process group of its own: a Ctrl-C in
// the terminal then reaches the demo alone, which stops the child itself.
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
