/** The media library (kinds, limits, the sandboxed previews and text) as the pipeline uses it. */

import { detectKind, type MediaKind, PREVIEW_KINDS, TEXT_KINDS } from './media-kind.ts';
import { PREVIEW_SIZES } from './preview-sizes.ts';
import { type ProcessingLimits, ProcessingRefused } from './processing-limits.ts';
import type { MediaToolkit } from './processing-pipeline.ts';
import type { ProcessingSandbox } from './processing-sandbox.ts';

export function mediaToolkit(limits: ProcessingLimits, sandbox: ProcessingSandbox): MediaToolkit {
  return {
    detectKind,
    previewKinds: PREVIEW_KINDS,
    textKinds: TEXT_KINDS,
    previewSizes: PREVIEW_SIZES,
    maxInputBytes: limits.maxInputBytes,
    run: (job) => sandbox.run({ ...job, kind: job.kind as MediaKind }),
    refusalCode: (error) => (error instanceof ProcessingRefused ? error.code : undefined),
  };
}
