// One worker: attaches to the shared heap and creates records in it.
import { attach } from '../../js/linalloc.js';

onmessage = (e) => {
  const { init, worker, count } = e.data;
  const heap = attach(init);
  const ptrs = [];
  for (let i = 0; i < count; i++) ptrs.push(heap.createRecord(worker * 1000 + i, worker + i / count, -i).ptr);
  postMessage({ ptrs });
};
