package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
)

// PNG renders content as a square PNG image at least size pixels wide
// (size <= 0 means DefaultPNGSize). Every module gets the same whole
// number of pixels, so the edge is rounded up to a multiple of the symbol
// size: modules of uneven width make scanners stumble.
//
// The image is one-bit greyscale, written directly: a row of pixels is the
// same for every pixel row of a module row, so each is built once, and
// the compressor is reused between images.
func PNG(content string, size int) ([]byte, error) {
	if size <= 0 {
		size = DefaultPNGSize
	}
	s, err := encode(content)
	if err != nil {
		return nil, err
	}
	n := s.n + 2*quietZone
	scale := (size + n - 1) / n
	edge := n * scale
	stride := 1 + (edge+7)/8 // the filter byte (none), then the pixels

	z := zlibPool.Get().(*zlibBuf)
	defer zlibPool.Put(z)
	z.out.Reset()
	z.w.Reset(&z.out)
	light := make([]byte, stride)
	for i := 1; i < stride; i++ {
		light[i] = 0xff // one-bit greyscale: 1 is white
	}
	// Clear the padding bits past the edge, as the format asks.
	if pad := edge % 8; pad != 0 {
		light[stride-1] = 0xff << (8 - pad)
	}
	line := make([]byte, stride)
	up := make([]byte, stride)
	up[0] = 2 // filter type Up, then zeros: the same pixels as the row above
	for y := -quietZone; y < s.n+quietZone; y++ {
		row := light
		if y >= 0 && y < s.n {
			copy(line, light)
			for x, c := range s.row(y) {
				if c == 0 {
					continue
				}
				for p := (x + quietZone) * scale; p < (x+quietZone+1)*scale; p++ {
					line[1+p>>3] &^= 0x80 >> (p & 7)
				}
			}
			row = line
		}
		if _, err := z.w.Write(row); err != nil {
			return nil, fmt.Errorf("qr: %w", err)
		}
		// The module row's other pixel rows repeat it: filter "Up" makes
		// each all zeros, which compress to next to nothing.
		for range scale - 1 {
			if _, err := z.w.Write(up); err != nil {
				return nil, fmt.Errorf("qr: %w", err)
			}
		}
	}
	if err := z.w.Close(); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}

	var b bytes.Buffer
	b.Grow(len(pngSignature) + 3*12 + 13 + z.out.Len())
	b.WriteString(pngSignature)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(edge))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(edge))
	ihdr[8] = 1 // bit depth; colour type 0 (greyscale), deflate, no filter, no interlace
	chunk(&b, "IHDR", ihdr[:])
	chunk(&b, "IDAT", z.out.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes(), nil
}

const pngSignature = "\x89PNG\r\n\x1a\n"

// chunk writes one PNG chunk: length, type, data, CRC of type and data.
func chunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	b.Write(n[:])
}

// zlibBuf is a compressor with its output buffer, reused between images:
// making a compressor is a good part of encoding a small image.
type zlibBuf struct {
	out bytes.Buffer
	w   *zlib.Writer
}

var zlibPool = sync.Pool{New: func() any {
	z := &zlibBuf{}
	z.w, _ = zlib.NewWriterLevel(&z.out, zlib.BestSpeed) // the level is valid
	return z
}}
