package sim

import (
	"syscall"
	"unsafe"
)

// mapParcels maps room for n records outside the Go heap. parcelRec
// holds no pointer, so the collector needs never look at it.
func mapParcels(n int) ([]parcelRec, func(), bool) {
	size := n * int(unsafe.Sizeof(parcelRec{}))
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, false
	}
	s := unsafe.Slice((*parcelRec)(unsafe.Pointer(unsafe.SliceData(b))), n)[:0]
	return s, func() { _ = syscall.Munmap(b) }, true
}
