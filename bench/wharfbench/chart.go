package wharfbench

import (
	"bytes"
	"fmt"
	img "image"
	"image/color"
	"image/draw"
	"image/png"
	"slices"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

var (
	wharfColor = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	distrColor = color.RGBA{0xff, 0x7f, 0x0e, 0xff}
	textColor  = color.RGBA{0x22, 0x22, 0x22, 0xff}
	gridColor  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

// Chart draws the throughput rows (higher is better, a unit per second) as
// a horizontal bar chart, wharf and distribution side by side per workload,
// one panel per unit with its own scale, and returns it as PNG.
func (r *Report) Chart() ([]byte, error) {
	var units []string
	byUnit := map[string][]Result{}
	for _, res := range r.Results {
		if !charted(res) {
			continue
		}
		if _, ok := byUnit[res.Unit]; !ok {
			units = append(units, res.Unit)
		}
		byUnit[res.Unit] = append(byUnit[res.Unit], res)
	}
	if len(units) == 0 {
		return nil, fmt.Errorf("wharfbench: chart: no throughput row was measured")
	}
	regular, err := face(goregular.TTF, 13)
	if err != nil {
		return nil, err
	}
	bold, err := face(gobold.TTF, 15)
	if err != nil {
		return nil, err
	}

	const (
		margin    = 16
		barH      = 14
		rowGap    = 12
		barArea   = 520
		valueW    = 70
		titleH    = 30
		panelGap  = 18
		legendH   = 28
		headlineH = 30
	)
	labelW := 0
	for _, rows := range byUnit {
		for _, res := range rows {
			labelW = max(labelW, font.MeasureString(regular, res.Name).Ceil())
		}
	}
	width := margin + labelW + 12 + barArea + valueW + margin
	height := margin + headlineH + legendH
	for _, u := range units {
		height += titleH + len(byUnit[u])*(2*barH+rowGap) + panelGap
	}
	height += margin

	canvas := img.NewRGBA(img.Rect(0, 0, width, height))
	draw.Draw(canvas, canvas.Bounds(), img.White, img.Point{}, draw.Src)
	text := func(f font.Face, c color.Color, x, y int, s string) {
		d := font.Drawer{Dst: canvas, Src: img.NewUniform(c), Face: f, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	fill := func(x0, y0, x1, y1 int, c color.Color) {
		draw.Draw(canvas, img.Rect(x0, y0, x1, y1), img.NewUniform(c), img.Point{}, draw.Src)
	}

	y := margin + 18
	title := "wharf and distribution, same run: throughput (median of rounds, higher is better)"
	if r.Opts.Smoke {
		title = "SMOKE RUN (tiny sizes, measures nothing): " + title
	}
	text(bold, textColor, margin, y, title)
	y += headlineH - 8
	x := margin
	for _, l := range []struct {
		name string
		c    color.Color
	}{{"wharf", wharfColor}, {"distribution", distrColor}} {
		fill(x, y, x+barH, y+barH, l.c)
		text(regular, textColor, x+barH+6, y+barH-2, l.name)
		x += barH + 6 + font.MeasureString(regular, l.name).Ceil() + 24
	}
	y += legendH
	barX := margin + labelW + 12
	for _, u := range units {
		rows := byUnit[u]
		text(bold, textColor, margin, y+18, u)
		y += titleH
		top := 0.0
		for _, res := range rows {
			top = max(top, median(res.Wharf), median(res.Distr))
		}
		panelTop, panelBottom := y-4, y+len(rows)*(2*barH+rowGap)-rowGap+4
		for i := 0; i <= 4; i++ {
			gx := barX + i*barArea/4
			fill(gx, panelTop, gx+1, panelBottom, gridColor)
		}
		for _, res := range rows {
			text(regular, textColor, margin, y+barH+4, res.Name)
			for i, v := range []float64{median(res.Wharf), median(res.Distr)} {
				c := []color.Color{wharfColor, distrColor}[i]
				w := int(v / top * barArea)
				by := y + i*barH
				fill(barX, by+1, barX+max(w, 1), by+barH-1, c)
				text(regular, textColor, barX+max(w, 1)+4, by+barH-2, num(v))
			}
			y += 2*barH + rowGap
		}
		y += panelGap
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, canvas); err != nil {
		return nil, fmt.Errorf("wharfbench: chart: %w", err)
	}
	return buf.Bytes(), nil
}

// charted says whether the chart shows res: a measured throughput row.
func charted(res Result) bool {
	return !res.LowerBetter && strings.HasSuffix(res.Unit, "/s") && res.NotMeasured == "" && len(res.Wharf) > 0 && len(res.Distr) > 0
}

// hasThroughput says whether the chart would show anything.
func (r *Report) hasThroughput() bool { return slices.ContainsFunc(r.Results, charted) }

func face(ttf []byte, size float64) (font.Face, error) {
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("wharfbench: chart font: %w", err)
	}
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("wharfbench: chart font: %w", err)
	}
	return fc, nil
}
