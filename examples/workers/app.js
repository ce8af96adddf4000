// The main thread: a heap in a shared memory, N workers filling it with
// records, then every record read back here.
import { load } from '../../js/linalloc.js';

const WORKERS = 4;
const PER_WORKER = 250;
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
  const rows = [];
  for (const { k, ptrs } of done) {
    for (const p of ptrs) {
      const r = heap.record(p); // made in a worker, read here
      rows.push(`<tr><td>${k}</td><td>${p}</td><td>${r.id}</td><td>${r.x.toFixed(3)}</td><td>${r.y.toFixed(3)}</td></tr>`);
    }
  }
  document.getElementById('rows').innerHTML = rows.join('');
  const s = heap.stats();
  document.getElementById('stats').textContent =
    `${rows.length} records from ${WORKERS} workers; live blocks ${s.liveAllocations}, in use ${s.inUseBytes} bytes, ` +
    `heap ${s.heapBytes} bytes, memory ${heap.memory.buffer.byteLength} bytes (shared: ${heap.shared})`;
  document.body.dataset.ready = 'yes';
}
