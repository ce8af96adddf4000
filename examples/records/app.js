// The records demo app: a form, a table, an X/Y plot, heap stats and a
// heap map, all over records allocated in wasm memory through the loader.
// No `track: true`: it keeps an allocation stack per block, which makes
// createRecord many times slower, and the page knows its records anyway.
import { load, LinallocError, PAGE_SIZE } from '../../js/linalloc.js';
import { drawAxes, niceTicks } from './axes.js';

const $ = (id) => document.getElementById(id);
const heap = await load();
const records = []; // RecordView objects, in creation order
const TABLE_ROWS = 200;
const RECORD_SIZE = 24; // bytes of one record (u32 id, f64 x, f64 y)

function showError(e) {
  $('error').hidden = false;
  $('error').textContent = e instanceof LinallocError ? `${e.name}: ${e.message}` : String(e);
}

// an action that succeeded: an older error no longer applies
function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function add(id, x, y) {
  records.push(heap.createRecord(id, x, y));
}

function renderTable() {
  const shown = records.slice(-TABLE_ROWS).reverse();
  $('rows').innerHTML = shown
    .map((r) => `<tr><td>${r.ptr}</td><td>${r.id}</td><td>${fmt(r.x)}</td><td>${fmt(r.y)}</td><td><button class="del" data-ptr="${r.ptr}" aria-label="delete record ${r.id}">✕</button></td></tr>`)
    .join('');
  $('count').textContent = `(${records.length.toLocaleString('en')})`;
  $('more').hidden = records.length <= TABLE_ROWS;
  $('more').textContent = `showing the newest ${TABLE_ROWS} of ${records.length.toLocaleString('en')}`;
}

const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

function renderStats() {
  const s = heap.stats();
  const rows = [
    ['live allocations', s.liveAllocations],
    ['total allocations', s.totalAllocations],
    ['failed allocations', s.failedAllocations],
    ['in use', `${s.inUseBytes.toLocaleString('en')} B`],
    ['peak in use', `${s.peakInUseBytes.toLocaleString('en')} B`],
    ['heap (managed)', `${s.heapBytes.toLocaleString('en')} B`],
    ['memory', `${s.pages} pages (${s.memoryBytes.toLocaleString('en')} B)`],
  ];
  $('stats').innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd data-stat="${k}">${v}</dd>`).join('');
}

// The scatter plot inside axes with ticks; the margins hold the labels.
const PLOT_MARGIN = { left: 46, right: 12, top: 10, bottom: 30 };
function renderPlot() {
  const c = $('plot');
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const f64 = heap.f64; // one fresh view for the whole loop
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const r of records) {
    const i = (r.ptr + 8) / 8;
    x0 = Math.min(x0, f64[i]); x1 = Math.max(x1, f64[i]);
    y0 = Math.min(y0, f64[i + 1]); y1 = Math.max(y1, f64[i + 1]);
  }
  if (!records.length) [x0, x1, y0, y1] = [0, 1, 0, 1];
  const xs = niceTicks(x0, x1);
  const ys = niceTicks(y0, y1);
  const box = { x: PLOT_MARGIN.left, y: PLOT_MARGIN.top, w: c.width - PLOT_MARGIN.left - PLOT_MARGIN.right, h: c.height - PLOT_MARGIN.top - PLOT_MARGIN.bottom };
  drawAxes(g, box, xs, ys);
  c.dataset.xTicks = xs.labels.join(' ');
  c.dataset.yTicks = ys.labels.join(' ');
  const sx = box.w / (xs.max - xs.min);
  const sy = box.h / (ys.max - ys.min);
  g.fillStyle = records.length > 5000 ? '#2563eb55' : '#2563eb';
  const dot = records.length > 5000 ? 1.5 : 5;
  for (const r of records) {
    const i = (r.ptr + 8) / 8;
    g.fillRect(box.x + (f64[i] - xs.min) * sx - dot / 2, box.y + box.h - (f64[i + 1] - ys.min) * sy - dot / 2, dot, dot);
  }
}

// One strip per 64 KiB page, painted by address: the heap in grey from
// `heap.heapStart` (its own state, then its blocks) to the memory's end,
// the page's records in blue over it, what lies below (the stack, static
// data) in amber: page 0 is mostly heap. (Nothing else grows this memory,
// so every page above heapStart is the heap's.)
const COLORS = { other: '#f59e0b', free: '#cbd5e1', used: '#2563eb' };
function renderHeapMap() {
  const c = $('heapmap');
  const pages = heap.memory.buffer.byteLength / PAGE_SIZE;
  const end = heap.memory.buffer.byteLength;
  const start = heap.heapStart ?? end;
  const strip = pages > 64 ? 3 : 8;
  c.height = pages * (strip + 1) + 1;
  const g = c.getContext('2d');
  const perPx = PAGE_SIZE / c.width;
  // paints [from, to) page by page, a pixel at least
  const paint = (from, to) => {
    for (let a = from; a < to; ) {
      const page = Math.floor(a / PAGE_SIZE);
      const stop = Math.min(to, (page + 1) * PAGE_SIZE);
      g.fillRect((a % PAGE_SIZE) / perPx, page * (strip + 1) + 1, Math.max(1, (stop - a) / perPx), strip);
      a = stop;
    }
  };
  g.fillStyle = COLORS.other;
  paint(0, pages * PAGE_SIZE);
  g.fillStyle = COLORS.free;
  paint(start, end);
  g.fillStyle = COLORS.used;
  for (const r of records) paint(r.ptr, r.ptr + RECORD_SIZE);
  c.dataset.pages = String(pages);
  c.dataset.blocks = String(records.length);
  c.dataset.heapStart = String(start);
  c.dataset.heapEnd = String(end);
}

function render() {
  renderTable();
  renderStats();
  renderPlot();
  renderHeapMap();
}

$('add').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    add(Number(f.get('id')), Number(f.get('x')), Number(f.get('y')));
    ev.target.elements.id.value = Number(f.get('id')) + 1;
    clearError();
  } catch (e) {
    showError(e);
  }
  render();
});

$('bulk').addEventListener('click', () => {
  try {
    const base = records.length;
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const t = (base + i) * 0.001;
      add(base + i, Math.cos(t * 7) * (1 + t) + Math.random(), Math.sin(t * 5) * (1 + t) + Math.random());
    }
    const ms = performance.now() - t0;
    $('timing').textContent = `100 000 createRecord calls in ${ms.toFixed(0)} ms`;
    $('timing').dataset.ms = ms.toFixed(1);
    clearError();
  } catch (e) {
    showError(e);
  }
  render();
});

$('clear').addEventListener('click', () => {
  for (const r of records) r.free();
  records.length = 0;
  clearError();
  render();
});

$('rows').addEventListener('click', (ev) => {
  const ptr = Number(ev.target.dataset?.ptr);
  if (!ptr) return;
  const i = records.findIndex((r) => r.ptr === ptr);
  if (i >= 0) records.splice(i, 1)[0].free();
  clearError();
  render();
});

add(1, 0.5, 2.25);
add(2, -3, 4.75);
add(3, 10.125, -1);
$('add').elements.id.value = 4;
render();
document.body.dataset.ready = 'yes';
