package decode

import "testing"

func BenchmarkQV(b *testing.B) {
	q := []byte("user_key=****&user_phone=****&screen_height=1125&screen_width=2436&from_page=1&user_type=2&os_type=ios")
	for b.Loop() {
		queryValue(q, "os_type")
	}
}
