import { useEffect, useState } from 'preact/hooks';
import { files } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import type { FileInfo } from '../api/types.ts';
import { mediaTypeOf, previewKind } from '../preview.ts';

/**
 * A safe look at a file: text as a text node, a raster image through a blob: URL typed as that image.
 * Nothing else (HTML, SVG, PDF, ...) is rendered from the pod; those are downloaded.
 */
export function FilePreview({
  credentials,
  owner,
  info,
}: {
  credentials: Credentials;
  owner: string;
  info: FileInfo;
}) {
  const kind = previewKind(info.contentType, info.size);
  const [text, setText] = useState<string | null>(null);
  const [imageUrl, setImageUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    if (kind === 'none') return;
    const controller = new AbortController();
    let url: string | null = null;
    setText(null);
    setImageUrl(null);
    setFailed(false);
    files.body(credentials, owner, info.path, controller.signal).then(
      async (blob) => {
        if (kind === 'text') setText(await blob.text());
        else {
          url = URL.createObjectURL(new Blob([blob], { type: mediaTypeOf(info.contentType) }));
          setImageUrl(url);
        }
      },
      () => {
        if (!controller.signal.aborted) setFailed(true);
      },
    );
    return () => {
      controller.abort();
      if (url !== null) URL.revokeObjectURL(url);
    };
  }, [credentials, owner, info.path, info.etag, kind, info.contentType]);

  if (kind === 'none')
    return <p class="muted">No preview for this type ({info.contentType}); download it to open it.</p>;
  if (failed) return <p class="muted">The preview could not be loaded.</p>;
  if (kind === 'text')
    return text === null ? (
      <p aria-busy="true">Loading preview…</p>
    ) : (
      <figure>
        <figcaption class="muted">Contents of {info.path}</figcaption>
        <pre class="preview-text" data-testid="text-preview">
          {text}
        </pre>
      </figure>
    );
  return imageUrl === null ? (
    <p aria-busy="true">Loading preview…</p>
  ) : (
    <img class="preview-image" src={imageUrl} alt={`preview of ${info.path}`} data-testid="image-preview" />
  );
}
