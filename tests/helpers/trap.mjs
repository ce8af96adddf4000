// A real engine trap for the heap-failure suite: `(func (export "trap")
// unreachable)`, called with any arguments, throws a WebAssembly.RuntimeError.
const BYTES = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // magic, version
  1, 4, 1, 0x60, 0, 0, // type section: () -> ()
  3, 2, 1, 0, // function section: one function of type 0
  7, 8, 1, 4, 0x74, 0x72, 0x61, 0x70, 0, 0, // export section: "trap" = function 0
  10, 5, 1, 3, 0, 0, 0x0b, // code section: no locals, unreachable, end
]);

/** Throws the engine's RuntimeError ("unreachable"). */
export const trap = new WebAssembly.Instance(new WebAssembly.Module(BYTES)).exports.trap;
