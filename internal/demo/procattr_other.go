//go:build !unix

package demo

import "syscall"

// ownProcessGroup leaves the child in the demo's process group where
// process groups are not unix's.
func ownProcessGroup() *syscall.SysProcAttr {
	return nil
}
