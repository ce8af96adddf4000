// Types for js/linalloc.js, the linalloc loader.

/** Bytes in one WebAssembly page (65536). */
export const PAGE_SIZE: number;
/** Most pages a wasm32 memory can have (65536 = 4 GiB). */
export const MAX_PAGES: number;
/** Exports every linalloc module provides. */
export const ABI_EXPORTS: readonly string[];

export type Source =
  | string
  | URL
  | Response
  | Promise<Response>
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module;

export interface LoadOptions {
  /** A caller-created memory, used as is (must have at least the module's minimum pages). */
  memory?: WebAssembly.Memory;
  /** Pages of the memory the loader creates (default: the module's minimum, at least 2). */
  initial?: number;
  /** Its maximum in pages (default 65536 = 4 GiB; smaller where the engine refuses). */
  maximum?: number;
  /** Bytes at the start of the memory kept out of the heap (yours from 17 KiB on; the first 17 KiB are linalloc's stack and owner tag). */
  reserve?: number;
  /** Remember live blocks allocated through the helpers (see `Heap.liveBlocks`). */
  track?: boolean;
  /** A shared memory (and, without a source, the threads build dist/linalloc-mt.wasm) for workers: see `Heap.workerInit` and `attach`. */
  shared?: boolean;
  /** Extra imports, by module name, for modules that need more than env.memory. */
  imports?: { [key: string]: { [key: string]: unknown } };
  /** Load the checked build (dist/linalloc-checked.wasm): misuse throws named errors. */
  checked?: boolean;
}

/** A WASI instance: node:wasi's `WASI`, or a browser library's of the same shape (@bjorn3/browser_wasi_shim). */
export interface WasiLike {
  wasiImport: object;
  start(instance: object): unknown;
  initialize(instance: object): unknown;
}

export interface LinkOptions extends LoadOptions {
  /** Link into a running heap instead of loading a new allocator. */
  heap?: Heap;
  /** Key of the allocator in `modules` (default 'linalloc'). */
  allocator?: string;
  /** Bytes of stack allocated for each side module (default 65536). */
  stackSize?: number;
  /** WASI for the clients that import wasi_snapshot_preview1: one instance (for one such client), or one per client name. */
  wasi?: WasiLike | { [client: string]: WasiLike };
}

/** A wasm function export: called with numbers (bigints for i64), returns a number, a bigint or undefined. */
export type WasmFunction = (...args: any[]) => any;

/**
 * A module's exports: function exports are callable as they are
 * (`instances.app.exports.run()`); a global, table or memory export narrows
 * with `instanceof WebAssembly.Global` (`.Table`, `.Memory`).
 */
export interface Exports {
  readonly [name: string]: WasmFunction & WebAssembly.ExportValue;
}

/** A linked module's instance (the allocator's is `{ exports: heap.exports }`). */
export interface LinkedInstance {
  readonly exports: Exports;
}

export interface Region {
  module: string;
  start: number;
  end: number;
  /** True for a side module's data block (allocated from the heap). */
  sideModule?: boolean;
  /** True for a stack the loader moved out of low memory (a stack-first module's). */
  stack?: boolean;
}

export interface HeapStats {
  inUseBytes: number;
  peakInUseBytes: number;
  liveAllocations: number;
  totalAllocations: number;
  failedAllocations: number;
  heapBytes: number;
  invalidFrees: number;
  /** Damaged links or tags found in freed memory (writes through dangling pointers); what they pointed to was left unused. */
  corruptions: number;
  memoryBytes: number;
  pages: number;
}

export interface LiveBlock {
  ptr: number;
  size: number;
  /** JS stack of the allocation site. */
  readonly stack: string | undefined;
}

export interface RecordJSON {
  ptr: number;
  id: number;
  x: number;
  y: number;
}

/** Loads the allocator module; `load()` with no arguments is idempotent. */
export function load(source?: Source, options?: LoadOptions): Promise<Heap>;

/** What `heap.workerInit()` returns: structured-cloneable, to post to a worker. */
export interface WorkerInit {
  linalloc: 'worker';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The worker's stack: a block of the shared heap. */
  stack: number;
  stackSize: number;
  maximum: number | null;
}

/** In a worker: a Heap on the shared memory of `init`, on a stack of its own. */
export function attach(init: WorkerInit): Heap;

/** Bytes of stack each worker's instance gets. */
export const WORKER_STACK: number;

/**
 * Links modules that need malloc/free against the allocator in one memory,
 * fetching and compiling all of them in parallel.
 */
export function linkModules(
  modules: { [key: string]: Source },
  options?: LinkOptions,
): Promise<{ heap: Heap; instances: { [key: string]: LinkedInstance }; regions: Region[]; exitCodes: { [name: string]: number } }>;

/** Compiles any supported source, with the loader's errors. */
export function compileSource(source: Source): Promise<{ module: WebAssembly.Module; bytes: Uint8Array | null; url: string }>;

/** Creates a memory, retrying smaller maxima where the engine refuses to reserve `maximum`. */
export function createMemory(initial: number, maximum?: number): { memory: WebAssembly.Memory; maximum: number };

/** Throws LinkError naming every import of `module` that `imports` lacks. */
export function checkImports(module: WebAssembly.Module, imports: { [key: string]: { [key: string]: unknown } }, what?: string): void;

export class Heap {
  constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, maximum?: number | null);
  /** The module's exports, callable directly (`heap.exports.stats_heap_bytes()`). */
  readonly exports: Exports;
  readonly memory: WebAssembly.Memory;
  /** Memory size in pages when the allocator started; the heap only uses pages it grew above it. */
  readonly startPages: number;
  /** The memory's maximum in pages, when known. */
  readonly maximumPages: number | null;
  /** Static regions of the allocator and of the modules linked into this heap. */
  readonly regions: Region[];
  /** True for the checked build. */
  readonly checked: boolean;
  /** True when the memory is shared (the threads build). */
  readonly shared: boolean;
  /** Address where the heap starts (its state, then its blocks), or null before the first allocation. */
  readonly heapStart: number | null;
  /** Bytes at the start of the memory kept out of the heap (`LoadOptions.reserve`, linked modules' static data). */
  readonly reserved: number;
  /** Name of the build that owns this memory's heap (`lin`, `dlmalloc`, `checked`, …); null for a memory no heap has claimed. */
  readonly build: string | null;
  /** Keeps `[0, end)` out of the heap: true when reserved now (only before the first allocation) or already below `heapStart`. */
  reserveBelowHeap(end: number): boolean;
  /** Requested size of the live block at `ptr`, or null when `ptr` is not the start of a live block. */
  blockSize(ptr: number): number | null;
  /** Threads build: a new worker's stack and what the worker needs; post it, then call `attach(init)` there. */
  workerInit(): WorkerInit;
  /** Threads build: gives a worker's stack back once the worker has ended. */
  workerDone(init: WorkerInit): void;
  /** Checked build: verifies every live block; throws HeapCorruptionError. No-op otherwise. */
  check(): void;

  malloc(size: number): number;
  free(ptr: number): void;
  calloc(n: number, size: number): number;
  /** C realloc; `realloc(p, 0)` frees `p` (throws as `free` does for a refused pointer) and returns 0. */
  realloc(ptr: number, size: number): number;
  alignedAlloc(align: number, size: number): number;
  /** Bump build only: frees every block at once (TypeError on other builds). */
  reset(): void;

  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly dataView: DataView;

  _malloc(size: number): number;
  _free(ptr: number): void;
  readonly HEAP8: Int8Array;
  readonly HEAPU8: Uint8Array;
  readonly HEAP16: Int16Array;
  readonly HEAPU16: Uint16Array;
  readonly HEAP32: Int32Array;
  readonly HEAPU32: Uint32Array;
  readonly HEAPF32: Float32Array;
  readonly HEAPF64: Float64Array;

  writeBytes(bytes: ArrayBuffer | ArrayBufferView): number;
  readBytes(ptr: number, len: number): Uint8Array;
  writeString(str: string): number;
  readString(ptr: number, len?: number): string;
  writeArray(array: Exclude<ArrayBufferView, DataView>): number;
  readArray<T extends Exclude<ArrayBufferView, DataView>>(
    Type: { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
    ptr: number,
    length: number,
  ): T;

  createRecord(id: number, x: number, y: number): RecordView;
  /** Wraps an existing record pointer (a live block of at least 24 bytes). */
  record(ptr: number): RecordView;

  stats(): HeapStats;
  tracking: boolean;
  liveBlocks(): LiveBlock[];
}

/** An ID/X/Y record in wasm memory (`heap.createRecord`, `heap.record`): fields read and write the memory. */
export class RecordView {
  constructor(heap: Heap, ptr: number);
  readonly ptr: number;
  id: number;
  x: number;
  y: number;
  toJSON(): RecordJSON;
  free(): void;
}
/** @deprecated Use `RecordView`: importing `Record` shadows TypeScript's own `Record<K, V>`. */
export const Record: typeof RecordView;
/** @deprecated Use `RecordView`. */
export type Record = RecordView;

export class LinallocError extends Error {
  constructor(message: string, code: string, details?: object);
  readonly code: string;
}
export class LoadError extends LinallocError {
  url?: string;
  status?: number;
  missing?: string[];
}
export class LinkError extends LinallocError {
  missing?: { module: string; name: string; kind: string }[];
}
export class MemoryError extends LinallocError {
  pages?: number;
  minimum?: number;
  initial?: number;
  maximum?: number;
}
export class OutOfMemoryError extends LinallocError {
  size: number;
  pages: number;
  maximum: number | null;
  stats: HeapStats;
}
export class UseAfterFreeError extends LinallocError {}
interface FaultDetails {
  /** The block's pointer (or the damaged area's start). */
  ptr: number;
  /** The block's requested size (0 when unknown). */
  size: number;
  /** Address of the first damaged byte (0 when none). */
  at: number;
  /** JS stack of the allocation, when loaded with { track: true }. */
  allocationStack?: string;
}
export class DoubleFreeError extends LinallocError {}
export interface DoubleFreeError extends FaultDetails {}
export class InvalidFreeError extends LinallocError {}
export interface InvalidFreeError extends FaultDetails {}
export class HeapCorruptionError extends LinallocError {
  /** HEAP_FAILED on a shared heap: another thread's call trapped first and marked the heap failed. */
  otherThread?: boolean;
}
export interface HeapCorruptionError extends FaultDetails {}
