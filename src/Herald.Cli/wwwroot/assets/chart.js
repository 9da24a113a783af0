// A small time-series line chart on a canvas: a moving window, a nice y scale, no dependencies.

const css = name => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export class LineChart {
  #canvas;
  #series;
  #points = [];
  #windowMs;
  #format;
  #minMax;
  #unit;

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} options
   * @param {{ color: string }[]} options.series colours as CSS variable names, e.g. '--series-1'
   * @param {(value: number) => string} options.format y-axis labels
   * @param {number} [options.windowSeconds=60]
   * @param {number} [options.minMax=1] the y scale never goes below this maximum (a flat zero line stays readable)
   * @param {number} [options.unit=1] the y scale's top is a round number of these (e.g. MiB for memory)
   */
  constructor(canvas, { series, format, windowSeconds = 60, minMax = 1, unit = 1 }) {
    this.#canvas = canvas;
    this.#series = series;
    this.#format = format;
    this.#windowMs = windowSeconds * 1000;
    this.#minMax = minMax;
    this.#unit = unit;
    new ResizeObserver(() => this.draw()).observe(canvas);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.draw());
  }

  /** Adds one sample (time in ms, one value per series) and redraws. */
  push(time, values) {
    this.#points.push({ time, values });
    const oldest = time - this.#windowMs - 5000;
    while (this.#points.length > 2 && this.#points[0].time < oldest) {
      this.#points.shift();
    }

    this.draw();
  }

  draw() {
    const canvas = this.#canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) {
      return;
    }

    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }

    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);

    const font = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const now = this.#points.length ? this.#points[this.#points.length - 1].time : Date.now();
    const start = now - this.#windowMs;
    const visible = this.#points.filter(p => p.time >= start - 1000);
    let max = this.#minMax;
    for (const p of visible) {
      for (const v of p.values) {
        max = Math.max(max, v);
      }
    }

    const top = niceCeiling(max / this.#unit) * this.#unit;
    g.font = font;
    const labelWidth = Math.max(...[0, 0.5, 1].map(f => g.measureText(this.#format(top * f)).width));
    const left = Math.ceil(labelWidth) + 10;
    const right = 6;
    const topPad = 8;
    const bottom = 20;
    const plotW = width - left - right;
    const plotH = height - topPad - bottom;
    const x = t => left + ((t - start) / this.#windowMs) * plotW;
    const y = v => topPad + plotH - (v / top) * plotH;

    // Grid and labels.
    g.strokeStyle = css('--grid');
    g.fillStyle = css('--faint');
    g.lineWidth = 1;
    g.textBaseline = 'middle';
    g.textAlign = 'right';
    for (let i = 0; i <= 4; i++) {
      const value = (top * i) / 4;
      const yy = Math.round(y(value)) + 0.5;
      g.beginPath();
      g.moveTo(left, yy);
      g.lineTo(width - right, yy);
      g.stroke();
      if (i % 2 === 0) {
        g.fillText(this.#format(value), left - 6, yy);
      }
    }

    g.textAlign = 'center';
    g.textBaseline = 'alphabetic';
    const seconds = this.#windowMs / 1000;
    for (const ago of [seconds, seconds * 0.75, seconds * 0.5, seconds * 0.25, 0]) {
      const xx = x(now - ago * 1000);
      g.fillText(ago === 0 ? 'now' : `-${ago}s`, Math.min(Math.max(xx, left + 12), width - right - 12), height - 4);
    }

    if (visible.length < 2) {
      return;
    }

    g.save();
    g.beginPath();
    g.rect(left, 0, plotW, height);
    g.clip();
    this.#series.forEach((series, index) => {
      const color = css(series.color);
      g.beginPath();
      visible.forEach((p, i) => {
        const px = x(p.time);
        const py = y(p.values[index]);
        if (i === 0) {
          g.moveTo(px, py);
        } else {
          g.lineTo(px, py);
        }
      });
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.lineJoin = 'round';
      g.stroke();

      // The first series gets a soft area under its line.
      if (index === 0) {
        g.lineTo(x(visible[visible.length - 1].time), y(0));
        g.lineTo(x(visible[0].time), y(0));
        g.closePath();
        const fill = g.createLinearGradient(0, topPad, 0, topPad + plotH);
        fill.addColorStop(0, withAlpha(color, 0.22));
        fill.addColorStop(1, withAlpha(color, 0.02));
        g.fillStyle = fill;
        g.fill();
      }
    });
    g.restore();
  }
}

/** The smallest 1, 2, 2.5 or 5 × 10^n at or above `value`. */
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) {
      return step * power;
    }
  }

  return 10 * power;
}

function withAlpha(hex, alpha) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!m) {
    return hex;
  }

  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
