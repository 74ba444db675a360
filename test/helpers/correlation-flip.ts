/**
 * Issue 27's multivariate case: x1, x3 ~ N(0, 1), x2 = r·x1 + √(1 − r²)·e (e ~ N(0, 1)), and a
 * categorical c independent of them (a 50 %, b 30 %, c 20 %). Every marginal is the same whatever r,
 * so no per-feature test can see r change from 0.85 to −0.85; the joint distribution does change.
 */
import { normal } from './predictions.js';
import { seededRandom } from './random.js';

// A type alias, not an interface: it must be assignable to a row record.
export type FlipRow = { x1: number; x2: number; x3: number; c: string };

export function correlatedRows(n: number, r: number, seed: number): FlipRow[] {
  const rand = seededRandom(seed);
  const rows: FlipRow[] = [];
  for (let i = 0; i < n; i++) {
    const x1 = normal(rand);
    const x2 = r * x1 + Math.sqrt(1 - r * r) * normal(rand);
    const x3 = normal(rand);
    const u = rand();
    rows.push({ x1, x2, x3, c: u < 0.5 ? 'a' : u < 0.8 ? 'b' : 'c' });
  }
  return rows;
}
