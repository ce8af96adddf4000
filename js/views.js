// Typed-array views over a memory that are never stale: the base class of
// the Heap. Each view is cached and rebuilt only when `memory.grow` replaced
// the buffer; the emscripten names (HEAP8 … HEAPF64) are aliases.

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!LITTLE_ENDIAN) throw new Error('linalloc: typed-array views need a little-endian host, like WebAssembly memory');

/**
 * True for a SharedArrayBuffer, told by its tag: a page that is not
 * cross-origin isolated can have one without the global constructor.
 */
export const isSharedBuffer = (buffer) => Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';

/** Views over one memory's current buffer. */
export class MemoryViews {
  #memory;
  #shared; // a SharedArrayBuffer memory (threads build): its buffers never detach
  #buffer = null;
  #u8 = null;
  #i8 = null;
  #u16 = null;
  #i16 = null;
  #i32 = null;
  #u32 = null;
  #f32 = null;
  #f64 = null;
  #dv = null;

  /** @param {WebAssembly.Memory} memory */
  constructor(memory) {
    this.#memory = memory;
    this.#shared = isSharedBuffer(memory.buffer);
  }

  // memory.grow detaches the old buffer of a non-shared memory, so a cached
  // buffer with byteLength 0 is stale. Checking that is much cheaper than
  // the `memory.buffer` accessor, which is only called when it changed.
  // A shared memory never detaches; growing it gives `memory.buffer` a new,
  // longer buffer, so there the buffer's identity is compared.
  #fresh() {
    const cached = this.#buffer;
    if (cached !== null && cached.byteLength !== 0 && (!this.#shared || cached === this.#memory.buffer)) return cached;
    const b = this.#memory.buffer;
    this.#buffer = b;
    this.#u8 = this.#i8 = this.#u16 = this.#i16 = this.#i32 = this.#u32 = this.#f32 = this.#f64 = this.#dv = null;
    return b;
  }

  /** Uint8Array over the whole memory, never stale. */
  get u8() {
    const b = this.#fresh();
    return (this.#u8 ??= new Uint8Array(b));
  }
  /** Int8Array over the whole memory, never stale. */
  get i8() {
    const b = this.#fresh();
    return (this.#i8 ??= new Int8Array(b));
  }
  /** Uint16Array over the whole memory, never stale. */
  get u16() {
    const b = this.#fresh();
    return (this.#u16 ??= new Uint16Array(b));
  }
  /** Int16Array over the whole memory, never stale. */
  get i16() {
    const b = this.#fresh();
    return (this.#i16 ??= new Int16Array(b));
  }
  /** Int32Array over the whole memory, never stale. */
  get i32() {
    const b = this.#fresh();
    return (this.#i32 ??= new Int32Array(b));
  }
  /** Uint32Array over the whole memory, never stale. */
  get u32() {
    const b = this.#fresh();
    return (this.#u32 ??= new Uint32Array(b));
  }
  /** Float32Array over the whole memory, never stale. */
  get f32() {
    const b = this.#fresh();
    return (this.#f32 ??= new Float32Array(b));
  }
  /** Float64Array over the whole memory, never stale. */
  get f64() {
    const b = this.#fresh();
    return (this.#f64 ??= new Float64Array(b));
  }
  /** DataView over the whole memory, never stale. */
  get dataView() {
    const b = this.#fresh();
    return (this.#dv ??= new DataView(b));
  }

  // emscripten-style aliases (always fresh)
  /** Alias of `i8`. */ get HEAP8() { return this.i8; }
  /** Alias of `u8`. */ get HEAPU8() { return this.u8; }
  /** Alias of `i16`. */ get HEAP16() { return this.i16; }
  /** Alias of `u16`. */ get HEAPU16() { return this.u16; }
  /** Alias of `i32`. */ get HEAP32() { return this.i32; }
  /** Alias of `u32`. */ get HEAPU32() { return this.u32; }
  /** Alias of `f32`. */ get HEAPF32() { return this.f32; }
  /** Alias of `f64`. */ get HEAPF64() { return this.f64; }
}
