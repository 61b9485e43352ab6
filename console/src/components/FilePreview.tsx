import { useEffect, useState } from 'preact/hooks';
import { files } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import type { FileInfo } from '../api/types.ts';
import { mediaTypeOf, previewKind } from '../preview.ts';
import { hasProcessedPreview, LARGE_PREVIEW_SIZE } from '../processed-preview.ts';
import { useServerPreview } from './use-server-preview.ts';

interface Props {
  credentials: Credentials;
  owner: string;
  info: FileInfo;
}

/**
 * A safe look at a file: images and PDFs through the server's 1024 px preview (WebP, shown through a
 * blob: URL), text as a text node, a small raster image without a server preview from its own bytes
 * typed as that image. Nothing else (HTML, SVG, ...) is rendered from the pod; those are downloaded.
 */
export function FilePreview(props: Props) {
  return hasProcessedPreview(props.info.contentType) ? (
    <ServerPreview {...props} />
  ) : (
    <OwnBytesPreview {...props} />
  );
}

function ServerPreview(props: Props) {
  const { credentials, owner, info } = props;
  const preview = useServerPreview(credentials, owner, info.path, LARGE_PREVIEW_SIZE, info.etag, true);
  if (preview.state === 'ready')
    return (
      <img
        class="preview-image"
        src={preview.url}
        alt={`preview of ${info.path}`}
        data-testid="image-preview"
        data-source="server"
      />
    );
  if (preview.state === 'none' || preview.state === 'unavailable')
    // No server preview (processing off, refused, or not there yet): a raster image still shows as itself.
    return previewKind(info.contentType, info.size) === 'image' ? (
      <OwnBytesPreview {...props} />
    ) : (
      <p class="muted" data-testid="no-preview">
        No preview of this file; download it to open it.
      </p>
    );
  return (
    <p aria-busy="true" data-testid="preview-pending">
      Preview being made…
    </p>
  );
}

function OwnBytesPreview({ credentials, owner, info }: Props) {
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
    <img
      class="preview-image"
      src={imageUrl}
      alt={`preview of ${info.path}`}
      data-testid="image-preview"
      data-source="file"
    />
  );
}
