/**
 * Schemas of the IETF resumable-upload draft's fields (draft-ietf-httpbis-resumable-upload-11, interop
 * version 8; api/uploads/draft-upload.ts), shared by the PUT that creates an upload and the upload
 * resource that tus serves too. Described, not checked here: a malformed field is ignored by the route,
 * as the draft says, so nothing here refuses one.
 */
import { DRAFT_NAME, INTEROP_VERSION, PARTIAL_UPLOAD } from '../uploads/draft-headers.ts';
import { header } from './responses.ts';

const field = (description: string, examples: string[]) =>
  ({ type: 'string', description, examples }) as const;

export const draftInteropVersion = field(
  `The draft's interop version (${INTEROP_VERSION}: ${DRAFT_NAME}). With it a creation gets the 104 (Upload Resumption Supported) interim answer, and a request to an upload resource without Tus-Resumable speaks the draft.`,
  [String(INTEROP_VERSION)],
);

/** Request fields of an upload creation (a PUT of a file). */
export const draftCreationHeaders = {
  'upload-complete': field(
    `A Structured Field Boolean: a resumable upload (${DRAFT_NAME}). \`?1\`: the body is the whole file; \`?0\`: more comes by PATCH to the upload (Location). Anything else is ignored: a plain PUT.`,
    ['?1'],
  ),
  'upload-length': field(
    'The whole file, in bytes (a Structured Field Integer); needed with Upload-Complete: ?0.',
    ['41943040'],
  ),
  'upload-draft-interop-version': draftInteropVersion,
};

/** Response fields of an open upload. */
export const draftStateHeaders = {
  'upload-offset': header('The bytes stored so far (the draft): where to append from.'),
  'upload-complete': header('`?1` once the file is written, else `?0`.'),
  'upload-length': header('The whole file, in bytes.'),
  'upload-limit': header('`max-size=<bytes>, max-age=<seconds left>`.'),
};

/** An append's body. */
export const partialUpload = {
  [PARTIAL_UPLOAD]: {
    schema: { contentMediaType: PARTIAL_UPLOAD, description: 'The bytes from Upload-Offset on (the draft).' },
  },
};
