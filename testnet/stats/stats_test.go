package stats

import (
	"runtime"
	"testing"
)

func TestPercentilesNearestRank(t *testing.T) {
	var xs []int
	for i := 100; i >= 1; i-- {
		xs = append(xs, i)
	}
	ps := []float64{0, 1, 50, 90, 99, 100}
	want := []int{1, 1, 50, 90, 99, 100}
	got := Percentiles(xs, ps...)
	for i := range ps {
		if got[i] != want[i] {
			t.Errorf("p%v = %d, want %d", ps[i], got[i], want[i])
		}
	}
	if xs[0] != 100 {
		t.Error("Percentiles reordered its input")
	}
	if got := Percentiles([]int{7}, 50, 99); got[0] != 7 || got[1] != 7 {
		t.Errorf("one value: %v, want [7 7]", got)
	}
	if got := Percentiles([]int(nil), 50); got[0] != 0 {
		t.Errorf("no values: %v, want [0]", got)
	}
}

func TestResidentSetOnLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if rss := ResidentSet(); rss < 1<<20 {
		t.Errorf("resident set %d bytes, want at least a MiB", rss)
	}
}
