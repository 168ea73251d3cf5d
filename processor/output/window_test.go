package output

import "testing"

func TestWindowString(t *testing.T) {
	tests := []struct {
		w    Window
		want string
	}{
		{Window{"android", 1565743788000, 1565743790000, 1522}, "[android@1565743788000/1565743790000] 1522"},
		{Window{"a@b", -1, 0, 0}, "[a@b@-1/0] 0"},
		{Window{}, "[@0/0] 0"},
	}
	for _, tt := range tests {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.w, got, tt.want)
		}
	}
}
