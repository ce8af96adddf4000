// Renders bench results as a small hand-written SVG: speed ratio to dlmalloc
// per trace (bars) and module size (bytes) per backend.
import { TRACES } from './harness.mjs';

const COLORS = ['#2563eb', '#16a34a', '#f59e0b', '#9333ea', '#dc2626', '#0891b2', '#4b5563'];
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** An SVG document (string) for `results` from bench/run.mjs. */
export function renderSvg(results) {
  const bs = results.backends;
  const W = 860;
  const chartH = 260;
  const left = 60;
  const top = 62;
  const groupW = (W - left - 20) / TRACES.length;
  const barW = Math.min(22, (groupW - 16) / bs.length);
  const ratios = bs.flatMap((b) => TRACES.map((t) => b.traces[t].ratioToDlmalloc).filter((r) => r !== undefined));
  const maxR = Math.min(8, Math.max(2, ...ratios));
  const y = (r) => top + chartH - (Math.min(r, maxR) / maxR) * chartH;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${top + chartH + 200}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">Time per allocator call, relative to dlmalloc (lower is faster)</text>`);
  out.push(`<text x="${left}" y="40" fill="#555">${esc(results.engine.node)} · ${esc(results.machine.cpu ?? '')} · median of ${results.runs} runs · ${esc(results.date.slice(0, 10))} · dashed: dlmalloc = 1× · colours as in the sizes below</text>`);
  for (let r = 0; r <= maxR; r += maxR > 4 ? 2 : 1) {
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(r)}" y2="${y(r)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left - 8}" y="${y(r) + 4}" text-anchor="end">${r}×</text>`);
  }
  out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(1)}" y2="${y(1)}" stroke="#333" stroke-dasharray="4 3"/>`);
  TRACES.forEach((t, ti) => {
    const gx = left + ti * groupW + 8;
    bs.forEach((b, bi) => {
      const m = b.traces[t];
      const x = gx + bi * barW;
      if (m.ratioToDlmalloc === undefined) {
        out.push(`<text x="${x + barW / 2}" y="${y(0) - 4}" text-anchor="middle" font-size="9" fill="#999">–</text>`);
        return;
      }
      const h = y(0) - y(m.ratioToDlmalloc);
      out.push(`<rect x="${x}" y="${y(m.ratioToDlmalloc)}" width="${barW - 2}" height="${h}" fill="${COLORS[bi % COLORS.length]}"><title>${esc(b.name)} ${t}: ${m.nsPerCall.toFixed(1)} ns/call, ${m.ratioToDlmalloc.toFixed(2)}×${m.failures ? ' (out of memory)' : ''}</title></rect>`);
      if (m.ratioToDlmalloc > maxR) out.push(`<text x="${x + barW / 2}" y="${top - 2 - (bi % 2) * 10}" text-anchor="middle" font-size="9">${m.ratioToDlmalloc.toFixed(0)}×</text>`);
    });
    out.push(`<text x="${gx + (bs.length * barW) / 2}" y="${top + chartH + 16}" text-anchor="middle">${t}</text>`);
  });
  // sizes
  const sy = top + chartH + 50;
  out.push(`<text x="${left}" y="${sy - 12}" font-size="15" font-weight="bold">Module size (bytes, wasm-opt -Oz; gzip -9 in brackets)</text>`);
  const maxS = Math.max(...bs.map((b) => b.size.raw));
  bs.forEach((b, bi) => {
    const yy = sy + bi * 20;
    const w = ((W - left - 260) * b.size.raw) / maxS;
    out.push(`<rect x="${left + 110}" y="${yy}" width="${w}" height="14" fill="${COLORS[bi % COLORS.length]}"/>`);
    out.push(`<text x="${left + 100}" y="${yy + 11}" text-anchor="end">${esc(b.name)}</text>`);
    out.push(`<text x="${left + 116 + w}" y="${yy + 11}">${b.size.raw} (${b.size.gzip})</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
