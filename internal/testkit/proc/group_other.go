//go:build !unix

package proc

import "syscall"

// ownGroup leaves the child in its parent's process group where process
// groups are not unix's.
func ownGroup() *syscall.SysProcAttr {
	return nil
}
