/* Emscripten's own allocators as a standalone peer module.
 *
 * malloc, free and realloc come from the allocator emcc links in
 * (-sMALLOC=emmalloc or -sMALLOC=dlmalloc) and are exported with
 * -sEXPORTED_FUNCTIONS; build.sh has the full command. This file adds one
 * thing: in STANDALONE_WASM mode the heap grows the memory with memory.grow
 * and then tells the JS runtime through an imported
 * emscripten_notify_memory_growth. There is no emscripten JS runtime here,
 * so defining it as an empty function leaves env.memory as the module's
 * only import. */
#include <stddef.h>

void emscripten_notify_memory_growth(size_t memory_index) {
    (void)memory_index;
}
