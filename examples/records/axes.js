// Axes for the records page's scatter plot: "nice" tick values (1, 2 or 5
// times a power of ten) covering a range, and drawing both axes with their
// ticks, labels and a light grid on a 2D canvas.

/** About `count` ticks covering [lo, hi]: `{ min, max, values, labels }`, min ≤ lo and max ≥ hi. */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) [lo, hi] = [lo - 1, lo + 1]; // one value, or none: a range around it
  const raw = (hi - lo) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const values = [];
  for (let v = min; v <= max + step / 2; v += step) values.push(Number(v.toFixed(digits)));
  return { min: values[0], max: values[values.length - 1], values, labels: values.map((v) => format(v, digits)) };
}

// 12 000 -> 12k, so labels fit the left margin
function format(v, digits) {
  if (Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(Math.max(0, digits - 3))}k`;
  return v.toFixed(digits);
}

/** Draws the axes of `box` ({ x, y, w, h } in canvas pixels) with ticks `xs` and `ys` from niceTicks. */
export function drawAxes(g, box, xs, ys) {
  const px = (v) => box.x + ((v - xs.min) / (xs.max - xs.min)) * box.w;
  const py = (v) => box.y + box.h - ((v - ys.min) / (ys.max - ys.min)) * box.h;
  g.save();
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#5b6670';
  g.strokeStyle = '#e5e8eb';
  g.lineWidth = 1;
  g.textAlign = 'center';
  g.textBaseline = 'top';
  xs.values.forEach((v, k) => {
    const x = Math.round(px(v)) + 0.5;
    g.beginPath(); g.moveTo(x, box.y); g.lineTo(x, box.y + box.h); g.stroke();
    g.fillText(xs.labels[k], x, box.y + box.h + 6);
  });
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  ys.values.forEach((v, k) => {
    const y = Math.round(py(v)) + 0.5;
    g.beginPath(); g.moveTo(box.x, y); g.lineTo(box.x + box.w, y); g.stroke();
    g.fillText(ys.labels[k], box.x - 6, y);
  });
  g.strokeStyle = '#1d232a';
  g.beginPath();
  g.moveTo(box.x + 0.5, box.y); g.lineTo(box.x + 0.5, box.y + box.h + 0.5); g.lineTo(box.x + box.w, box.y + box.h + 0.5);
  g.stroke();
  g.textAlign = 'right';
  g.textBaseline = 'alphabetic';
  g.fillText('x', box.x + box.w, box.y + box.h + 26);
  g.textAlign = 'left';
  g.textBaseline = 'top';
  g.fillText('y', box.x + 4, box.y);
  g.restore();
}
