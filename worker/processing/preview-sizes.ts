/**
 * The preview sizes: the longest side in pixels. A module of its own so that the worker's main thread
 * (the api of previews, the sandbox's settings) knows them without loading what makes previews (sharp,
 * pdf.js and the canvas stay in the processing thread: about 14 MiB of mapped code and their heaps).
 */
export const PREVIEW_SIZES: readonly number[] = Object.freeze([256, 1024]);
