package decode

import (
	"encoding/binary"
	"math/bits"
)

// Lines are a few hundred bytes of mostly printable ASCII, so scans test
// eight bytes per step with word arithmetic ("SIMD within a register") and
// jump straight to the first byte that needs a closer look.
//
// Each mask has the high bit set in every byte that matched, but a borrow
// or carry can also set it in a byte above the first real match. The
// lowest set bit is therefore always exact, which is all firstFlagged uses.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load64 reads eight bytes in memory order: byte 0 is the lowest.
func load64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// lessMask flags bytes below n (n <= 128).
func lessMask(w uint64, n byte) uint64 {
	return (w - ones*uint64(n)) &^ w & highs
}

// stringStopMask flags the bytes a JSON string scan stops at: '"', '\\'
// and control bytes. XOR-ing 0x02 maps '"' (0x22) to 0x20, control bytes
// to control bytes and every other ASCII byte to 0x21 or above, so one
// comparison with 0x21 finds both. Neither XOR changes the high bit, so a
// single &^ w clears what the subtractions flag in non-ASCII bytes.
func stringStopMask(w uint64) uint64 {
	return (((w ^ ones*0x02) - ones*0x21) | ((w ^ ones*'\\') - ones)) &^ w & highs
}

// atLeast7FMask flags DEL and non-ASCII bytes: adding one turns 0x7F into
// 0x80, and a carry out of 0xFF only follows a byte flagged by w itself.
func atLeast7FMask(w uint64) uint64 {
	return (w | (w + ones)) & highs
}

// firstFlagged returns the index of the first flagged byte of a non-zero mask.
func firstFlagged(mask uint64) int {
	return bits.TrailingZeros64(mask) >> 3
}
