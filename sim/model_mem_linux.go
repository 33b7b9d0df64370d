package sim

import "syscall"

// mapBytes maps size zeroed bytes outside the Go heap.
func mapBytes(size int) ([]byte, func(), bool) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, false
	}
	return b, func() { _ = syscall.Munmap(b) }, true
}
