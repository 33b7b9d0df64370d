package sim

import "unsafe"

// The parcel model of the peak-day preset is about a gigabyte of
// pointer-free records. In the garbage-collected heap it would count as
// live heap, and the collector lets the heap grow to twice the live heap
// before it runs (GOGC=100): the records would double the process's peak
// memory with garbage they never make. So on Linux they, and the doorstep
// shipments, live in anonymous mappings of their own (model_mem_linux.go),
// touched page by page as they fill; elsewhere in ordinary slices.

// offHeap returns an empty slice with room for n values of T outside the
// Go heap where it can, and the function that releases it (after which
// it must not be used). T must hold no pointer: the collector never sees
// the values.
func offHeap[T any](n int) ([]T, func()) {
	var zero T
	if size := int(unsafe.Sizeof(zero)); n > 0 && size > 0 {
		if b, free, ok := mapBytes(n * size); ok {
			return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)[:0], free
		}
	}
	return make([]T, 0, n), func() {}
}
