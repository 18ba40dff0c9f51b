package capture

// yuyvToI420 converts packed 4:2:2 (Y0 U Y1 V) to planar 4:2:0 into the
// given planes, averaging the chroma of each pair of rows. It allocates
// nothing: cameras that only give YUYV pay one pass over the frame.
func yuyvToI420(src []byte, stride, w, h int, y, u, v []byte) {
	cw := w / 2
	for row := 0; row < h; row += 2 {
		a := src[row*stride : row*stride+w*2]
		b := src[(row+1)*stride : (row+1)*stride+w*2]
		ya := y[row*w : row*w+w]
		yb := y[(row+1)*w : (row+1)*w+w]
		uo := u[(row/2)*cw : (row/2)*cw+cw]
		vo := v[(row/2)*cw : (row/2)*cw+cw]
		for i := 0; i < cw; i++ {
			p := i * 4
			ya[2*i], ya[2*i+1] = a[p], a[p+2]
			yb[2*i], yb[2*i+1] = b[p], b[p+2]
			uo[i] = byte((uint16(a[p+1]) + uint16(b[p+1]) + 1) >> 1)
			vo[i] = byte((uint16(a[p+3]) + uint16(b[p+3]) + 1) >> 1)
		}
	}
}
