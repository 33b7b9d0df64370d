package sim

// The parcel model of the peak-day preset is a few hundred megabytes to
// a gigabyte of pointer-free records. In the garbage-collected heap it
// would count as live heap, and the collector lets the heap grow to twice
// the live heap before it runs (GOGC=100): the records would double the
// process's peak memory with garbage they never make. So on Linux they
// live in an anonymous mapping of their own (model_mem_linux.go), touched
// page by page as parcels arrive; elsewhere in an ordinary slice.

// parcelModel returns an empty parcel slice with room for n records and
// the function that releases it (after which it must not be used).
func parcelModel(n int) ([]parcelRec, func()) {
	if n > 0 {
		if s, free, ok := mapParcels(n); ok {
			return s, free
		}
	}
	return make([]parcelRec, 0, n), func() {}
}
