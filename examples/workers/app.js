// The main thread: a heap in a shared memory, N workers filling it with
// records, then every record read back and checked here; the page shows a
// summary per worker and the newest rows, not all of them.
import { load } from '../../js/linalloc.js';

const WORKERS = 4;
const PER_WORKER = 250;
const NEWEST = 5; // rows shown per worker
const note = document.getElementById('note');

if (!globalThis.crossOriginIsolated) {
  note.textContent =
    'This page is not cross-origin isolated, so the browser does not allow sharing memory with workers. ' +
    'Serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp ' +
    '(make serve sends them), then reload.';
  document.body.dataset.ready = 'not-isolated';
} else {
  const heap = await load(undefined, { shared: true, initial: 2, maximum: 4096 });
  const jobs = Array.from({ length: WORKERS }, (_, k) => {
    const init = heap.workerInit();
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (e) => {
        worker.terminate();
        heap.workerDone(init); // the worker's stack goes back to the heap
        resolve({ k, ptrs: e.data.ptrs });
      };
      worker.onerror = (e) => reject(new Error(`worker ${k}: ${e.message}`));
      worker.postMessage({ init, worker: k, count: PER_WORKER });
    });
  });
  const done = await Promise.all(jobs);
  const summary = [];
  const newest = [];
  const addresses = new Set();
  for (const { k, ptrs } of done) {
    let good = 0;
    ptrs.forEach((p, i) => {
      const r = heap.record(p); // made in a worker, read here
      if (r.id === k * 1000 + i && r.x === k + i / PER_WORKER && r.y === -i) good++; // what worker.js wrote
      addresses.add(p);
      if (i >= ptrs.length - NEWEST) newest.push(`<tr><td>${k}</td><td>${p}</td><td>${r.id}</td><td>${r.x.toFixed(3)}</td><td>${r.y.toFixed(3)}</td></tr>`);
    });
    const ids = ptrs.map((p) => heap.record(p).id);
    summary.push(`<tr data-worker="${k}"><td>${k}</td><td>${ptrs.length}</td><td>${Math.min(...ids)}–${Math.max(...ids)}</td>` +
      `<td>${Math.min(...ptrs)}–${Math.max(...ptrs)}</td><td>${good}</td></tr>`);
  }
  const total = done.reduce((n, d) => n + d.ptrs.length, 0);
  document.getElementById('summary').innerHTML = summary.join('');
  document.getElementById('rows').innerHTML = newest.join('');
  const s = heap.stats();
  document.getElementById('stats').textContent =
    `${total} records from ${WORKERS} workers at ${addresses.size} distinct addresses; live blocks ${s.liveAllocations}, in use ${s.inUseBytes} bytes, ` +
    `heap ${s.heapBytes} bytes, memory ${heap.memory.buffer.byteLength} bytes (shared: ${heap.shared})`;
  document.body.dataset.ready = 'yes';
}
