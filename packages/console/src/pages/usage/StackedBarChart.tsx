/**
 * A dependency-free stacked bar chart in SVG: one bar per category (day), one coloured segment per
 * series (model). The SVG is an image with a one-sentence summary; the exact numbers belong in a
 * table beside it, which screen readers and tests read.
 */
import { type RefObject, useLayoutEffect, useRef, useState } from "react";

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
}

const HEIGHT = 240;
const PAD = { top: 12, right: 8, bottom: 28, left: 64 };
const GRIDLINES = 4;

/** A round gridline step (1, 2, 2.5 or 5 × 10ⁿ) such that GRIDLINES steps reach `max`. */
export function niceStep(max: number): number {
  if (!(max > 0)) return 1;
  const rough = max / GRIDLINES;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= rough) return step * power;
  return 10 * power;
}

/**
 * The width the chart is drawn at: its container's, in CSS pixels, so text keeps its real size on a
 * phone instead of shrinking with a scaled viewBox.
 */
function useWidth(ref: RefObject<HTMLElement | null>, initial: number): number {
  const [width, setWidth] = useState(initial);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => setWidth(Math.max(240, Math.round(element.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

export function StackedBarChart({
  categories,
  series,
  value,
  formatValue,
  formatTick,
  formatCategory,
  summary,
}: {
  categories: string[];
  series: ChartSeries[];
  /** The value of one series in one category (0 when absent). */
  value(category: string, seriesKey: string): number;
  formatValue(n: number): string;
  /** Gridline labels (short: no unit, which the chart's heading names). */
  formatTick(n: number): string;
  formatCategory(category: string): string;
  /** The accessible name of the image: what the chart shows, in words. */
  summary: string;
}) {
  const boxRef = useRef<HTMLDivElement>(null);
  const WIDTH = useWidth(boxRef, 720);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const totals = categories.map((c) => series.reduce((sum, s) => sum + value(c, s.key), 0));
  const step = niceStep(Math.max(0, ...totals));
  const max = step * GRIDLINES;
  const slot = plotW / Math.max(1, categories.length);
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  // Day labels about 48 px apart at least, so they never overlap however long the range.
  const labelEvery = Math.max(1, Math.ceil(categories.length / Math.max(1, Math.floor(plotW / 48))));
  const ticks = Array.from({ length: GRIDLINES + 1 }, (_, i) => i * step);

  return (
    <div ref={boxRef} className="chart">
      <svg
        width={WIDTH}
        height={HEIGHT}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={summary}
        className="stacked-bar-chart"
      >
        <g className="chart-grid">
          {ticks.map((t) => (
            <g key={t}>
              <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} />
              <text x={PAD.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                {formatTick(t)}
              </text>
            </g>
          ))}
        </g>
        {categories.map((category, i) => {
          const x = PAD.left + i * slot + (slot - barW) / 2;
          let base = 0;
          return (
            <g key={category} data-category={category}>
              {series.map((s) => {
                const v = value(category, s.key);
                if (!(v > 0)) return null;
                const top = y(base + v);
                const height = y(base) - top;
                base += v;
                return (
                  <rect
                    key={s.key}
                    className="chart-bar"
                    data-series={s.key}
                    data-category={category}
                    data-value={v}
                    x={x}
                    y={top}
                    width={barW}
                    height={Math.max(height, 0.5)}
                    fill={s.color}
                  >
                    <title>{`${formatCategory(category)} · ${s.label}: ${formatValue(v)}`}</title>
                  </rect>
                );
              })}
              {i % labelEvery === 0 ? (
                <text
                  className="chart-axis-label"
                  x={PAD.left + i * slot + slot / 2}
                  y={HEIGHT - 10}
                  textAnchor="middle"
                >
                  {formatCategory(category)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
