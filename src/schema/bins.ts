/**
 * The one way mlmon names the bins of a numeric feature: the analyzer stores these labels in each
 * drift result (`drift.bins[].label`), and the report and the Kibana Vega panel show the stored
 * labels as they are, so the same bin reads the same everywhere.
 *
 * Format: half-open intervals as Elasticsearch's `range` aggregation counts them (`from` included,
 * `to` excluded): `(−∞, e0)`, `[e0, e1)`, …, `[en, +∞)`; `(−∞, +∞)` without edges.
 */

/** Significant digits a label starts with: enough to tell deciles apart in most data. */
const MIN_DIGITS = 4;

function edgeText(x: number, digits: number): string {
  // Integers are shown whole (123456, not 123500); others rounded, without noise digits.
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(digits)));
}

/**
 * The edges as text with the fewest significant digits (at least MIN_DIGITS) that keep every two
 * neighbouring edges apart: 1000.1 and 1000.2 need 5, an atom bin [v, nextUp(v)) needs 17.
 */
function edgeTexts(edges: readonly number[]): string[] {
  for (let digits = MIN_DIGITS; digits <= 17; digits++) {
    const texts = edges.map((e) => edgeText(e, digits));
    if (texts.every((t, i) => i === 0 || t !== texts[i - 1])) return texts;
  }
  return edges.map((e) => String(e));
}

/** Labels of the `edges.length + 1` bins that the ascending inner `edges` cut the line into. */
export function binLabels(edges: readonly number[]): string[] {
  if (edges.length === 0) return ['(−∞, +∞)'];
  const texts = edgeTexts(edges);
  const labels = [`(−∞, ${texts[0]})`];
  for (let i = 1; i < texts.length; i++) labels.push(`[${texts[i - 1]}, ${texts[i]})`);
  labels.push(`[${texts[texts.length - 1]}, +∞)`);
  return labels;
}
