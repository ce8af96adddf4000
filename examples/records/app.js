// The records demo app: a form, a table, an X/Y plot, heap stats and a
// heap map, all over records allocated in wasm memory through the loader.
import { load, LinallocError, PAGE_SIZE } from '../../js/linalloc.js';

const $ = (id) => document.getElementById(id);
const heap = await load(undefined, { track: true });
const records = []; // Record objects, in creation order
const TABLE_ROWS = 200;

function showError(e) {
  $('error').hidden = false;
  $('error').textContent = e instanceof LinallocError ? `${e.name}: ${e.message}` : String(e);
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
    ['heap (grown)', `${s.heapBytes.toLocaleString('en')} B`],
    ['memory', `${s.pages} pages (${s.memoryBytes.toLocaleString('en')} B)`],
  ];
  $('stats').innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd data-stat="${k}">${v}</dd>`).join('');
}

function renderPlot() {
  const c = $('plot');
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  if (!records.length) return;
  const f64 = heap.f64; // one fresh view for the whole loop
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const r of records) {
    const i = (r.ptr + 8) / 8;
    x0 = Math.min(x0, f64[i]); x1 = Math.max(x1, f64[i]);
    y0 = Math.min(y0, f64[i + 1]); y1 = Math.max(y1, f64[i + 1]);
  }
  const sx = (c.width - 20) / (x1 - x0 || 1);
  const sy = (c.height - 20) / (y1 - y0 || 1);
  g.fillStyle = records.length > 5000 ? '#2563eb55' : '#2563eb';
  const dot = records.length > 5000 ? 1.5 : 5;
  for (const r of records) {
    const i = (r.ptr + 8) / 8;
    g.fillRect(10 + (f64[i] - x0) * sx - dot / 2, c.height - 10 - (f64[i + 1] - y0) * sy - dot / 2, dot, dot);
  }
}

// One strip per 64 KiB page: live blocks (from the loader's tracking) in
// blue over the heap's free space in grey; pages the heap did not grow
// (the stack, static data, pages present before it started) in amber.
function renderHeapMap() {
  const c = $('heapmap');
  const pages = heap.memory.buffer.byteLength / PAGE_SIZE;
  const firstHeapPage = pages - heap.stats().heapBytes / PAGE_SIZE;
  const strip = pages > 64 ? 3 : 8;
  c.height = pages * (strip + 1) + 1;
  const g = c.getContext('2d');
  const perPx = PAGE_SIZE / c.width;
  for (let p = 0; p < pages; p++) {
    g.fillStyle = p < firstHeapPage ? '#f59e0b' : '#cbd5e1';
    g.fillRect(0, p * (strip + 1) + 1, c.width, strip);
  }
  g.fillStyle = '#2563eb';
  for (const { ptr, size } of heap.liveBlocks()) {
    for (let a = ptr, end = ptr + Math.max(size, 1); a < end; ) {
      const page = Math.floor(a / PAGE_SIZE);
      const stop = Math.min(end, (page + 1) * PAGE_SIZE);
      const x = (a % PAGE_SIZE) / perPx;
      g.fillRect(x, page * (strip + 1) + 1, Math.max(1, (stop - a) / perPx), strip);
      a = stop;
    }
  }
  c.dataset.pages = String(pages);
  c.dataset.blocks = String(heap.liveBlocks().length);
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
  } catch (e) {
    showError(e);
  }
  render();
});

$('bulk').addEventListener('click', () => {
  try {
    const base = records.length;
    for (let i = 0; i < 100_000; i++) {
      const t = (base + i) * 0.001;
      add(base + i, Math.cos(t * 7) * (1 + t) + Math.random(), Math.sin(t * 5) * (1 + t) + Math.random());
    }
  } catch (e) {
    showError(e);
  }
  render();
});

$('clear').addEventListener('click', () => {
  for (const r of records) r.free();
  records.length = 0;
  render();
});

$('rows').addEventListener('click', (ev) => {
  const ptr = Number(ev.target.dataset?.ptr);
  if (!ptr) return;
  const i = records.findIndex((r) => r.ptr === ptr);
  if (i >= 0) records.splice(i, 1)[0].free();
  render();
});

add(1, 0.5, 2.25);
add(2, -3, 4.75);
add(3, 10.125, -1);
$('add').elements.id.value = 4;
render();
document.body.dataset.ready = 'yes';
