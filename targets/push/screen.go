package push

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// A terminal display is redrawn in place: the cursor goes back up over the
// rows drawn last time and everything below it is cleared, then the new
// lines are written. Two things leave stale copies behind when done
// naively, and both are handled here, purely:
//
//   - A line wider than the terminal wraps onto more rows than the redraw
//     moves up by. Every line is cut to the width (minus one column, so the
//     cursor never sits in a terminal's pending-wrap state) and never wraps.
//   - A terminal that narrows between two redraws reflows the lines drawn
//     for the wider one (tmux does, as do most terminals but xterm). The
//     move up counts, for each line drawn last time, the rows it takes at
//     the current width.

// columns is how many terminal columns s takes: East Asian wide and
// full-width runes take two, every other printable rune one.
func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

func runeColumns(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// cut shortens s to at most w columns, ending in "…" when it was longer.
// Control characters (which would move the cursor) become spaces.
func cut(s string, w int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if w <= 0 {
		return ""
	}
	if columns(s) <= w {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		c := runeColumns(r)
		if used+c > w-1 {
			break
		}
		b.WriteRune(r)
		used += c
	}
	b.WriteString("…")
	return b.String()
}

// rowsAt is how many screen rows lines of these widths take on a terminal
// cols wide (a line wider than the terminal wraps; an empty one takes one).
func rowsAt(widths []int, cols int) int {
	rows := 0
	for _, w := range widths {
		rows++
		if cols > 0 && w > cols {
			rows += (w - 1) / cols
		}
	}
	return rows
}

// frame is one redraw of a display: the escape codes that go back over the
// previous frame (drawn with line widths prev) and the new lines, cut to a
// terminal cols wide and at most rows-1 lines (a line that scrolled off the
// top could not be redrawn). It returns the widths it drew, for the next
// frame.
func frame(prev []int, cols, rows int, lines []string) (string, []int) {
	if cols < 2 {
		cols = 2
	}
	var b strings.Builder
	if up := rowsAt(prev, cols); up > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", up)
	} else {
		b.WriteString("\r")
	}
	b.WriteString("\x1b[J") // clear from here to the end of the screen
	if rows > 1 && len(lines) > rows-1 {
		more := len(lines) - (rows - 2)
		lines = append(lines[:rows-2:rows-2], fmt.Sprintf("… and %d more", more))
	}
	drawn := make([]int, 0, len(lines))
	for _, l := range lines {
		l = cut(l, cols-1)
		b.WriteString(l)
		b.WriteString("\n")
		drawn = append(drawn, columns(l))
	}
	return b.String(), drawn
}
